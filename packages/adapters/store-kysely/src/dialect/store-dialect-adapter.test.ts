import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createStoreDialectAdapter } from './index.js';

describe('createStoreDialectAdapter', () => {
  it('picks the adapter of each database', () => {
    for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
      expect(createStoreDialectAdapter(dialect).dialect).toBe(dialect);
    }
    expect(createStoreDialectAdapter('postgres').sqlBoolean(true)).toBe(true);
    expect(createStoreDialectAdapter('mysql').sqlBoolean(true)).toBe(1);
    expect(createStoreDialectAdapter('sqlite').sqlBoolean(false)).toBe(0);
  });

  it('is the only place that asks which database it is: storage modules never do (their frozen migrations aside)', () => {
    const directory = new URL('../modules/', import.meta.url);
    const files = readdirSync(directory, { recursive: true, encoding: 'utf8' }).filter(
      (name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && !/(^|\/)migrations\//.test(name),
    );
    expect(files).toContain('chat/message-repository.ts');
    for (const file of files) {
      const code = readFileSync(new URL(file, directory), 'utf8');
      expect(code, file).not.toMatch(/\bdialect\s*[!=]==|'(?:sqlite|postgres|mysql)'/);
    }
  });
});
