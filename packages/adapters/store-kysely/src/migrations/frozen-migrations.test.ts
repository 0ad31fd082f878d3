import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kaiwaStorageModules } from '../modules/index.js';
import { kaiwaMigrations } from './index.js';

const helpers = new URL('./', import.meta.url);
const helperFiles = readdirSync(helpers).filter((name) => /^frozen-helpers-v\d+\.ts$/.test(name));

/** Each module's migration files (`src/modules/<module>/migrations/`), as URLs by module name. */
const modules = new URL('../modules/', import.meta.url);
const migrationFiles = readdirSync(modules, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((entry) => {
    const directory = new URL(`${entry.name}/migrations/`, modules);
    if (!existsSync(directory)) return [];
    const files = readdirSync(directory).filter(
      (name) => /^\d{4}-.*\.ts$/.test(name) && !name.endsWith('.test.ts'),
    );
    return files.map((name) => ({ module: entry.name, name, url: new URL(name, directory) }));
  });

/** Every module a file imports, type-only imports included. */
function importsOf(url: URL): string[] {
  const source = readFileSync(url, 'utf8');
  return [...source.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((match) => match[1]!);
}

describe('frozen migrations', () => {
  it('keeps one file per migration, named after the migration, in the module that declares it', () => {
    const names = Object.keys(kaiwaMigrations('sqlite'));
    const fileNames = migrationFiles.map((file) => file.name.replace(/\.ts$/, '').replaceAll('-', '_'));
    expect(fileNames.toSorted()).toEqual(names);
    for (const module of kaiwaStorageModules) {
      const declared = Object.keys(module.migrations('sqlite'));
      const folder = migrationFiles.filter((file) => file.module === module.name);
      expect(
        folder.map((file) => file.name.replace(/\.ts$/, '').replaceAll('-', '_')),
        module.name,
      ).toEqual(declared);
    }
  });

  it('keeps the names and the order existing databases recorded', () => {
    expect(Object.keys(kaiwaMigrations('postgres'))).toEqual([
      '0001_initial',
      '0002_deferred_search_index',
      '0003_room_settings',
      '0004_workflows',
      '0005_platform_bridge',
      '0006_user_deactivation',
      '0007_audit_log',
      '0008_private_room_names',
      '0009_knowledge',
      '0010_plugin_storage',
      '0011_plugin_job_runs',
      '0012_plugin_installations',
      '0013_plugin_settings',
      '0014_knowledge_full_text',
      '0015_knowledge_full_text_documents_only',
    ]);
  });

  it('lets a migration import only kysely and frozen helpers, so no later change alters it', () => {
    for (const file of migrationFiles) {
      for (const module of importsOf(file.url)) {
        expect(
          module === 'kysely' || /^\.\.\/\.\.\/\.\.\/migrations\/frozen-helpers-v\d+\.js$/.test(module),
          `${file.module}/${file.name}: ${module}`,
        ).toBe(true);
      }
    }
    for (const file of helperFiles) expect(importsOf(new URL(file, helpers)), file).toEqual(['kysely']);
  });
});
