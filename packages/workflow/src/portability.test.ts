import { createHmac } from 'node:crypto';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/*
 * @kaiwa/workflow uses web standards only, like @kaiwa/core (webhook HMACs by Web Crypto, timers, no
 * Buffer): bundled for esbuild's neutral platform with Node built-ins refused, it runs in a V8 context that
 * holds only web globals. core's portability test covers Deno, Bun and workerd for core itself.
 */

const NODE_BUILTINS = new Set(builtinModules);

async function bundleWorkflow(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./index.ts', import.meta.url))],
    alias: { '@kaiwa/core': fileURLToPath(new URL('../../core/src/index.ts', import.meta.url)) },
    bundle: true,
    write: false,
    platform: 'neutral',
    mainFields: ['module', 'main'],
    format: 'iife',
    globalName: 'KaiwaWorkflow',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [
      {
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
      },
    ],
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild wrote nothing');
  return output.text;
}

const SCENARIO = `async (workflow) => {
  const results = {};
  const definition = workflow.parseWorkflowDefinition(
    'id: invoice\\nname: Invoice\\ntrigger: { type: webhook }\\nsteps:\\n  - { id: a, type: echo, input: { value: 1 } }\\n',
    'yaml',
  );
  results.definition = definition.id === 'invoice' && definition.steps.length === 1;
  results.expression = workflow.evaluateExpression('{{ amount * 2 }}', { amount: 21 }) === 42;
  const timestamp = 1764072000;
  const body = '{"a":1}';
  const signature = await workflow.signWebhook({ secret: 'k', timestamp, body });
  const now = timestamp * 1000;
  const good = await workflow.verifyWebhookSignature({ secret: 'k', timestamp, body, signature, now });
  const bad = await workflow.verifyWebhookSignature({ secret: 'x', timestamp, body, signature, now });
  results.webhooks = /^[0-9a-f]{64}$/.test(signature) && good.ok && !bad.ok && bad.reason === 'bad_signature';
  return JSON.stringify({ results, signature });
}`;

describe('@kaiwa/workflow on web standards alone', () => {
  it('bundles with every Node built-in refused and runs in a context holding only web globals', async () => {
    const code = await bundleWorkflow();
    const context = createContext({
      crypto: globalThis.crypto,
      TextEncoder,
      TextDecoder,
      ReadableStream,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
      URL,
      structuredClone,
      queueMicrotask,
      console,
      AbortController,
      AbortSignal,
    });
    expect(runInContext('typeof process + typeof Buffer + typeof require', context)).toBe(
      'undefinedundefinedundefined',
    );
    runInContext(code, context, { filename: 'kaiwa-workflow.iife.js' });
    const { results, signature } = JSON.parse(await runInContext(`(${SCENARIO})(KaiwaWorkflow)`, context));
    expect(results).toEqual({ definition: true, expression: true, webhooks: true });
    // The signature Node's createHmac gives, made without Node.
    expect(signature).toBe(createHmac('sha256', 'k').update('1764072000.{"a":1}').digest('hex'));
  });
});
