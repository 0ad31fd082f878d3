import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * Optional SDKs load only when configured (issues 12 and 18): a server composed with nothing optional set
 * (SQLite, files on disk, in-process bus, no bridge, no LLM backend) must not load any of them. Each case
 * composes and starts a server from source (through tsx) in a child process with module-trace.mjs
 * preloaded, which writes down every module file it loads, and checks that list.
 */

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const serverEntry = pathToFileURL(fileURLToPath(new URL('./index.ts', import.meta.url))).href;
const moduleTrace = fileURLToPath(new URL('./module-trace.mjs', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'kaiwa-lazy-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** npm packages that only an optional setting may load, with the setting that loads them. */
const OPTIONAL_PACKAGES = {
  'discord.js': 'KAIWA_BRIDGE_FILE (discord)',
  botbuilder: 'KAIWA_BRIDGE_FILE (teams)',
  '@slack/bolt': 'KAIWA_BRIDGE_FILE (slack)',
  '@slack/web-api': 'KAIWA_BRIDGE_FILE (slack)',
  telegraf: 'KAIWA_BRIDGE_FILE (telegram)',
  openai: 'KAIWA_LLM_BASE_URL',
  'node-llama-cpp': 'a llama.cpp model',
  '@huggingface/transformers': 'a transformers.js model',
  'onnxruntime-node': 'a transformers.js model',
  'tesseract.js': 'an OCR step',
  'pdfjs-dist': 'an OCR step on a PDF',
  '@napi-rs/canvas': 'an OCR step on a PDF',
  sharp: 'OCR of a TIFF image',
  '@aws-sdk/client-s3': 'KAIWA_BLOB_STORE=s3',
  ioredis: 'KAIWA_BUS=redis://…',
  '@nats-io/transport-node': 'KAIWA_BUS=nats://…',
  pg: 'KAIWA_DATABASE_URL=postgres://…',
  mysql2: 'KAIWA_DATABASE_URL=mysql://…',
  mespeak: 'KAIWA_SYNTHESIZER=mespeak',
  wavefile: 'KAIWA_TRANSCRIBER or KAIWA_SYNTHESIZER',
  'sherpa-onnx-node': 'KAIWA_TRANSCRIBER (Silero voice activity)',
  '@napi-rs/whisper': 'KAIWA_TRANSCRIBER=whisper.cpp, and then only in its child process',
  unpdf: 'KAIWA_EMBEDDINGS (PDF documents)',
  mammoth: 'KAIWA_EMBEDDINGS (DOCX documents)',
  'html-to-text': 'KAIWA_EMBEDDINGS (HTML documents)',
  '@sentry/node': 'SENTRY_DSN',
  // (@opentelemetry/api itself is always loaded: prom-client requires it for exemplars.)
  '@opentelemetry/sdk-trace-node': 'OTEL_TRACES_EXPORTER=otlp or OTEL_EXPORTER_OTLP_ENDPOINT',
  '@opentelemetry/exporter-trace-otlp-http': 'OTEL_TRACES_EXPORTER=otlp or OTEL_EXPORTER_OTLP_ENDPOINT',
  // Not optional, but loaded with the first upload rather than with the server (issue 18: memory at start).
  'file-type': 'the first upload',
} as const;

/** Workspace packages that exist only for those settings (loaded from source here). */
const OPTIONAL_WORKSPACE_PACKAGES = [
  'packages/adapters/platform-discord/',
  'packages/adapters/platform-slack/',
  'packages/adapters/platform-teams/',
  'packages/adapters/platform-telegram/',
  'packages/adapters/bus-redis/',
  'packages/adapters/bus-nats/',
  'packages/adapters/blob-s3/',
  'packages/bot/',
  'packages/bridge/',
  'packages/llm/',
  'packages/voice/',
  'packages/knowledge/',
  'packages/plugins/',
];

/** The npm package a module file belongs to (the innermost node_modules), if any. */
function packageOf(file: string): string | undefined {
  return /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
}

/**
 * Composes and starts a server from the package's source entry in a child process whose environment has
 * only `env` besides the basics (so nothing optional is set unless `env` sets it), closes it, and returns
 * the module files the child loaded.
 */
async function loadedModules(name: string, env: Record<string, string>): Promise<string[]> {
  const trace = join(directory, `${name}.modules.txt`);
  writeFileSync(trace, '');
  const script = `
    const { buildServer, loadConfig } = await import(${JSON.stringify(serverEntry)});
    const config = loadConfig({ env: process.env });
    const server = await buildServer(config, { announce() {}, logger: false });
    await server.listen();
    await server.close();
    process.exit(0);`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', moduleTrace, '--input-type=module', '-e', script],
    {
      cwd: repositoryRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        KAIWA_MODULE_TRACE: trace,
        NODE_ENV: 'test',
        PORT: '0',
        HOST: '127.0.0.1',
        KAIWA_DATA_DIR: join(directory, name),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the child exited with ${code}:\n${output}`);
  return [...new Set(readFileSync(trace, 'utf8').split('\n'))].filter((line) => line !== '');
}

describe('optional dependencies', () => {
  it('are not loaded by a server with nothing optional configured', { timeout: 120_000 }, async () => {
    const files = await loadedModules('plain', {});
    const packages = new Set(files.map(packageOf));
    // The trace sees what the server does load: its own source (through tsx), ES modules and CommonJS
    // files that CommonJS packages require (fastify requires avvio).
    expect(files.some((file) => file.endsWith('packages/server/src/app.ts'))).toBe(true);
    expect(packages).toContain('fastify');
    expect(packages).toContain('avvio');
    expect(packages).toContain('kysely');

    const loaded = Object.entries(OPTIONAL_PACKAGES)
      .filter(([name]) => packages.has(name))
      .map(([name, setting]) => `${name} (only for ${setting})`);
    expect(loaded).toEqual([]);
    const workspace = OPTIONAL_WORKSPACE_PACKAGES.filter((path) =>
      files.some((file) => !file.includes('node_modules') && file.includes(`/${path}`)),
    );
    expect(workspace).toEqual([]);
  });

  it('a restart loads the argon2 addon only when a password is hashed or checked', {
    timeout: 240_000,
  }, async () => {
    // Issue 18 (memory at start): a first start hashes the first admin's one-time password, so it loads the
    // addon; a restart of the same data directory hashes nothing until someone signs in.
    const firstStart = new Set((await loadedModules('restart', {})).map(packageOf));
    expect(firstStart).toContain('@node-rs/argon2');
    const restart = new Set((await loadedModules('restart', {})).map(packageOf));
    expect(restart).toContain('fastify');
    expect(restart).not.toContain('@node-rs/argon2');
  });

  it('KAIWA_TRANSCRIBER=whisper.cpp keeps whisper.cpp out of the server process', {
    timeout: 120_000,
  }, async () => {
    const files = await loadedModules('whisper', {
      KAIWA_TRANSCRIBER: 'whisper.cpp',
      KAIWA_TRANSCRIBER_MODEL: join(directory, 'ggml-never-loaded.bin'),
    });
    const packages = new Set(files.map(packageOf));
    expect(files.some((file) => file.includes('/packages/voice/'))).toBe(true);
    // The model loads in a forked child on the first voice message; the server never loads the addon.
    expect(packages).not.toContain('@napi-rs/whisper');
  });

  it('SENTRY_DSN loads @sentry/node', { timeout: 120_000 }, async () => {
    // Nothing listens on port 9: the client starts all the same and sends nothing (no error happens).
    const files = await loadedModules('sentry', { SENTRY_DSN: 'http://public@127.0.0.1:9/1' });
    const packages = new Set(files.map(packageOf));
    expect(packages).toContain('@sentry/node');
    for (const other of ['openai', 'ioredis', 'telegraf']) expect(packages).not.toContain(other);
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT loads the OpenTelemetry SDK', { timeout: 120_000 }, async () => {
    // Nothing listens on port 9; no span is made (no request), so nothing is sent.
    const files = await loadedModules('tracing', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    const packages = new Set(files.map(packageOf));
    expect(packages).toContain('@opentelemetry/sdk-trace-node');
    expect(packages).toContain('@opentelemetry/exporter-trace-otlp-http');
    for (const other of ['@sentry/node', 'openai', 'ioredis']) expect(packages).not.toContain(other);
  });

  it("a bridge file loads the configured platform's SDK and no other", { timeout: 120_000 }, async () => {
    const bridgeFile = join(directory, 'bridge.json');
    writeFileSync(
      bridgeFile,
      JSON.stringify({
        // Nothing answers on port 9: the bridge keeps trying in the background until the server closes.
        platforms: {
          telegram: { token: 'env:TELEGRAM_TOKEN', apiRoot: 'http://127.0.0.1:9', retry: { attempts: 0 } },
        },
        links: [],
      }),
    );
    const files = await loadedModules('bridge', {
      KAIWA_BRIDGE_FILE: bridgeFile,
      TELEGRAM_TOKEN: '123:test',
    });
    const packages = new Set(files.map(packageOf));
    expect(packages).toContain('telegraf');
    for (const other of ['discord.js', 'botbuilder', '@slack/bolt', 'openai', 'ioredis']) {
      expect(packages).not.toContain(other);
    }
  });
});
