import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kaiwaMigrations } from './index.js';

const directory = new URL('./', import.meta.url);
const migrationFiles = readdirSync(directory).filter(
  (name) => /^\d{4}-.*\.ts$/.test(name) && !name.endsWith('.test.ts'),
);
const helperFiles = readdirSync(directory).filter((name) => /^frozen-helpers-v\d+\.ts$/.test(name));

/** Every module a file imports, type-only imports included. */
function importsOf(name: string): string[] {
  const source = readFileSync(new URL(name, directory), 'utf8');
  return [...source.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((match) => match[1]!);
}

describe('frozen migrations', () => {
  it('keeps one file per migration, named after the migration', () => {
    const names = Object.keys(kaiwaMigrations('sqlite'));
    expect(migrationFiles.map((file) => file.replace(/\.ts$/, '').replaceAll('-', '_'))).toEqual(names);
  });

  it('lets a migration import only kysely and frozen helpers, so no later change alters it', () => {
    for (const file of migrationFiles) {
      for (const module of importsOf(file)) {
        expect(
          module === 'kysely' || /^\.\/frozen-helpers-v\d+\.js$/.test(module),
          `${file}: ${module}`,
        ).toBe(true);
      }
    }
    for (const file of helperFiles) expect(importsOf(file), file).toEqual(['kysely']);
  });
});
