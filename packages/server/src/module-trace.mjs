import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

/*
 * Records every module file a process loads, one absolute path a line, into the file named by
 * KAIWA_MODULE_TRACE. Preload it: `node --import ./packages/server/src/module-trace.mjs …`.
 *
 * ES modules are seen by a `resolve` hook (it runs on the loader thread, so it appends to the file itself);
 * CommonJS files, which Node 20's hooks do not see when a CommonJS package `require`s them, are seen where
 * `Module.prototype.load` runs once per file. A path may appear more than once. Used by the lazy-loading
 * test (lazy-dependencies.test.ts) and the start-up benchmark (bench/startup).
 */

const out = process.env.KAIWA_MODULE_TRACE;
if (out) {
  const hook = `
    import { appendFileSync } from 'node:fs';
    import { fileURLToPath } from 'node:url';
    export async function resolve(specifier, context, nextResolve) {
      const resolved = await nextResolve(specifier, context);
      if (resolved.url.startsWith('file:')) appendFileSync(${JSON.stringify(out)}, fileURLToPath(resolved.url) + '\\n');
      return resolved;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  const load = Module.prototype.load;
  Module.prototype.load = function traced(filename) {
    appendFileSync(out, `${filename}\n`);
    return load.call(this, filename);
  };
}
