import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { build, type Plugin } from 'esbuild';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * @kaiwa/core promises to run wherever the web platform does (Node ≥ 20, Deno, Bun, workers): it may use
 * Web Crypto, web streams, TextEncoder, timers, URL and console, and nothing of Node's. These tests hold it
 * to that: core's source is bundled for esbuild's `neutral` platform with every Node built-in refused, the
 * bundle is run in a bare V8 context holding only web globals, and the same bundle is run by Deno, Bun and
 * workerd (Cloudflare's Workers runtime) when they are installed. Its types are checked without
 * @types/node, against the WebWorker lib.
 */

const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
const repositoryRoot = join(dirname(entry), '../../..');

const NODE_BUILTINS = new Set(builtinModules);

/** Fails the build on any import of a Node built-in, `node:`-prefixed or bare (`fs`, `stream/web`). */
const refuseNodeBuiltins: Plugin = {
  name: 'refuse-node-builtins',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      const root = args.path.split('/')[0] ?? '';
      if (args.path.startsWith('node:') || NODE_BUILTINS.has(args.path) || NODE_BUILTINS.has(root)) {
        return { errors: [{ text: `Node built-in "${args.path}" imported by ${args.importer}` }] };
      }
      return undefined;
    });
  },
};

async function bundle(
  format: 'iife' | 'esm',
  entryPoint: string | { contents: string } = entry,
): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    ...(typeof entryPoint === 'string'
      ? { entryPoints: [entryPoint] }
      : { stdin: { contents: entryPoint.contents, resolveDir: dirname(entry), loader: 'ts' } }),
    bundle: true,
    write: false,
    metafile: true,
    // No platform conditions: packages resolve to their browser/default builds (ulid's, for one).
    platform: 'neutral',
    mainFields: ['module', 'main'],
    format,
    ...(format === 'iife' ? { globalName: 'KaiwaCore' } : {}),
    target: 'es2022',
    logLevel: 'silent',
    plugins: [refuseNodeBuiltins],
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild wrote nothing');
  return { code: output.text, inputs: Object.keys(result.metafile.inputs) };
}

/**
 * What the bundle must do, as plain JavaScript so that Node's vm, Deno and Bun run the same text: ULIDs
 * (Web Crypto), schemas with their UTF-8 byte limits, errors, the in-process bus, a ChatEngine creating a
 * user through a tiny in-memory users table and announcing it, and a platform retry that waits on a timer.
 * It answers JSON, so no object crosses a realm.
 */
const SCENARIO = `async (core) => {
  const results = {};
  const ids = Array.from({ length: 2000 }, () => core.createId());
  results.ulids = ids.every((id) => core.ULID_PATTERN.test(id)) && new Set(ids).size === ids.length
    && ids.join() === [...ids].sort().join();

  results.schemas = core.MessageTextSchema.safeParse('こんにちは').success
    && !core.MessageTextSchema.safeParse('é'.repeat(40000)).success
    && core.MessageTextSchema.safeParse('é'.repeat(30000)).success
    && !core.IdSchema.safeParse('not an id').success;

  try {
    core.assertSafeBlobKey('../escape');
    results.errors = false;
  } catch (error) {
    results.errors = error instanceof core.ValidationError && error instanceof core.KaiwaBaseError
      && error.issues[0].path[0] === 'key';
  }

  const bus = new core.InProcessBus();
  const seen = [];
  bus.subscribe((event) => seen.push(event.type));
  const users = new Map();
  const store = {
    users: {
      insert: async (user) => { users.set(user.id, user); },
      findById: async (id) => users.get(id),
    },
  };
  const engine = new core.ChatEngine({ store, bus });
  const announced = new Promise((resolve) =>
    engine.events.on('user.created', ({ payload }) => resolve(payload.user.username)));
  const alice = await engine.createUser({ username: 'alice' });
  results.engine = (await announced) === 'alice' && users.get(alice.id)?.displayName === 'alice'
    && seen.includes('user.created') && core.ULID_PATTERN.test(alice.id);
  engine.close();

  let attempts = 0;
  const started = Date.now();
  const answer = await core.withPlatformRetry(
    async () => {
      attempts += 1;
      if (attempts < 3) throw new Error('busy');
      return 'sent';
    },
    () => new core.PlatformError('slack', 'rate_limited', 'slow down', { retryAfterMs: 5 }),
    { retries: 3, backoffMs: () => 5, maxDelayMs: 50, overMax: 'cap' },
  );
  results.timers = answer === 'sent' && attempts === 3 && Date.now() - started >= 9;

  const text = await new Response(new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('web '));
      controller.enqueue(new TextEncoder().encode('streams'));
      controller.close();
    },
  })).text();
  results.webStreams = text === 'web streams';
  return JSON.stringify(results);
}`;

const EXPECTED = { ulids: true, schemas: true, errors: true, engine: true, timers: true, webStreams: true };

describe('@kaiwa/core on web standards alone', () => {
  it('bundles for a neutral platform with every Node built-in refused', async () => {
    const { code, inputs } = await bundle('esm');
    expect(inputs.some((input) => input.includes('node_modules/zod/'))).toBe(true);
    // ulid's browser build: its Node build imports node:crypto.
    expect(inputs.filter((input) => input.includes('node_modules/ulid/'))).toEqual([
      expect.stringContaining('dist/browser/'),
    ]);
    expect(code).not.toMatch(/\brequire\(|\bprocess\.|\bBuffer\.|__dirname/);
  });

  it('fails that build when a Node built-in creeps in (the guard works)', async () => {
    await expect(
      bundle('esm', { contents: "import { randomBytes } from 'node:crypto'; export const x = randomBytes;" }),
    ).rejects.toThrow(/Node built-in "node:crypto"/);
    await expect(bundle('esm', { contents: "export { Readable } from 'stream';" })).rejects.toThrow(
      /Node built-in "stream"/,
    );
  });

  it('runs in a V8 context that holds only web globals', async () => {
    const { code } = await bundle('iife');
    // The globals a worker runtime offers (a subset); the context's own JS builtins come with it.
    const context = createContext({
      crypto: globalThis.crypto,
      TextEncoder,
      TextDecoder,
      ReadableStream,
      Response,
      setTimeout,
      clearTimeout,
      URL,
      structuredClone,
      queueMicrotask,
      console,
    });
    for (const name of ['process', 'Buffer', 'require', 'global', 'setImmediate', 'module']) {
      expect(runInContext(`typeof ${name}`, context), name).toBe('undefined');
    }
    runInContext(code, context, { filename: 'kaiwa-core.iife.js' });
    const json: string = await runInContext(`(${SCENARIO})(KaiwaCore)`, context);
    expect(JSON.parse(json)).toEqual(EXPECTED);
  });

  it('type-checks without @types/node, against the WebWorker lib', () => {
    const parsed = ts.parseJsonConfigFileContent(
      {
        extends: join(repositoryRoot, 'tsconfig.base.json'),
        compilerOptions: {
          types: [],
          lib: ['ES2023', 'WebWorker', 'WebWorker.Iterable', 'WebWorker.AsyncIterable'],
          noEmit: true,
        },
        files: [entry],
      },
      ts.sys,
      repositoryRoot,
    );
    const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    expect(problems).toEqual([]);
    const files = program.getSourceFiles().map((file) => file.fileName);
    expect(files.some((file) => file.includes('/@types/node/'))).toBe(false);
    expect(files.some((file) => file.endsWith('/ports/blob-store.ts'))).toBe(true);
  }, 60_000);
});

/**
 * A JavaScript runtime to try the bundle in: `KAIWA_TEST_<NAME>` (a path) or `<name>` on the PATH. The npm
 * packages `deno`, `bun` and `workerd` ship their binaries (`npm i -g deno bun workerd`) and run offline.
 */
function findRuntime(name: string): { command: string; version: string } | undefined {
  const command = process.env[`KAIWA_TEST_${name.toUpperCase()}`] || name;
  const probe = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.status !== 0) return undefined;
  return { command, version: probe.stdout.trim().split('\n')[0] ?? '' };
}

const SCRIPT = `import * as core from './kaiwa-core.mjs';\nconsole.log(await (${SCENARIO})(core));\n`;

const runtimes: {
  name: string;
  what: string;
  args: string[];
  files: Record<string, string>;
  /** Whether anything on stderr fails the run (workerd logs its test progress there). */
  quiet: boolean;
}[] = [
  {
    name: 'deno',
    what: 'Deno',
    // No --allow-* flag: the bundle gets no file, network or environment access, and needs none.
    args: [
      'run',
      '--quiet',
      '--no-prompt',
      '--no-config',
      '--no-lock',
      '--no-npm',
      '--no-remote',
      'main.mjs',
    ],
    files: { 'main.mjs': SCRIPT },
    quiet: true,
  },
  { name: 'bun', what: 'Bun', args: ['main.mjs'], files: { 'main.mjs': SCRIPT }, quiet: true },
  {
    // Cloudflare's open-source Workers runtime: `workerd test` calls the worker's test handler.
    name: 'workerd',
    what: 'workerd (Cloudflare Workers)',
    args: ['test', 'config.capnp'],
    files: {
      'main.mjs': `import * as core from './kaiwa-core.mjs';\nexport default { async test() { console.log(await (${SCENARIO})(core)); } };\n`,
      'config.capnp': [
        'using Workerd = import "/workerd/workerd.capnp";',
        'const config :Workerd.Config = (services = [(name = "main", worker = .worker)]);',
        'const worker :Workerd.Worker = (',
        '  modules = [',
        '    (name = "main.mjs", esModule = embed "main.mjs"),',
        '    (name = "kaiwa-core.mjs", esModule = embed "kaiwa-core.mjs"),',
        '  ],',
        '  compatibilityDate = "2025-01-01",',
        ');',
        '',
      ].join('\n'),
    },
    quiet: false,
  },
];

describe.each(runtimes)('@kaiwa/core in $what', ({ name, args, files, quiet }) => {
  const runtime = findRuntime(name);
  const folders: string[] = [];
  afterAll(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  it.skipIf(!runtime)(
    runtime
      ? `runs the bundle (${runtime.version})`
      : `runs the bundle (skipped: no ${name} binary; put it on the PATH or set KAIWA_TEST_${name.toUpperCase()}, e.g. after npm i -g ${name})`,
    async () => {
      if (!runtime) return;
      const { code } = await bundle('esm');
      // Outside the repository, so the runtime finds no package.json or config to act on.
      const folder = mkdtempSync(join(tmpdir(), `kaiwa-core-${name}-`));
      folders.push(folder);
      writeFileSync(join(folder, 'kaiwa-core.mjs'), code);
      for (const [file, text] of Object.entries(files)) writeFileSync(join(folder, file), text);
      const run = spawnSync(runtime.command, args, {
        cwd: folder,
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, DENO_NO_UPDATE_CHECK: '1', DO_NOT_TRACK: '1' },
      });
      if (quiet) expect(run.stderr).toBe('');
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '')).toEqual(EXPECTED);
    },
    90_000,
  );
});
