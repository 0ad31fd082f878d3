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

  it('is the only place that asks which database it is: repositories never do', () => {
    const directory = new URL('../repositories/', import.meta.url);
    for (const file of readdirSync(directory).filter((name) => name.endsWith('.ts'))) {
      const code = readFileSync(new URL(file, directory), 'utf8');
      expect(code, file).not.toMatch(/\bdialect\s*[!=]==|'(?:sqlite|postgres|mysql)'/);
    }
  });
});
