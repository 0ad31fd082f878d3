import { signWebhook } from '@kaiwa/workflow';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipartBody, TEST_PASSWORD } from '../test-support.js';
import {
  type OpenApiDocument,
  type Operation,
  operationsOf,
  type SampleInput,
  sampleInput,
} from './openapi-operations.js';
import { allows, CALLER_KINDS, declaredOutcome, type TargetKind } from './route-access.js';
import {
  type Caller,
  changedTables,
  openSecurityWorld,
  type SecurityWorld,
  targetFiller,
  WEBHOOK_SECRET,
} from './security-world.js';

/*
 * The authorization matrix: every operation of the OpenAPI document × every kind of caller × the caller's own,
 * someone else's and a hidden target, on a real server on SQLite. Each answer is held against the route's
 * declared access (`config.access`, published as `x-kaiwa-access`): refused calls answer 401/403/404 in Kaiwa's
 * error format and change nothing in the store; allowed calls answer neither 401 nor 403, and never 5xx.
 * KAIWA_SECURITY_DISCOVER=1 prints what every cell answered instead of failing, to write declarations from.
 */

const DISCOVER = process.env.KAIWA_SECURITY_DISCOVER === '1';
const TARGET_KINDS: TargetKind[] = ['mine', 'others', 'hidden'];

let world: SecurityWorld;
let document: OpenApiDocument;
let operations: Operation[];

beforeAll(async () => {
  world = await openSecurityWorld();
  document = world.test.server.app.swagger() as unknown as OpenApiDocument;
  operations = operationsOf(document);
}, 60_000);
afterAll(() => world?.close());

let uniqueCounter = 0;

/** What a few routes need beyond a valid shape to get past their own checks: real credentials, signatures. */
async function specialised(operation: Operation, input: SampleInput, caller: Caller, kind: TargetKind) {
  const { accounts } = world.test.server;
  uniqueCounter += 1;
  switch (operation.name) {
    case 'POST /api/v1/auth/login':
      return { ...input, body: { username: world.outsider.username, password: TEST_PASSWORD } };
    case 'POST /api/v1/auth/refresh': {
      const session = await accounts.login(world.outsider.username, TEST_PASSWORD);
      return { ...input, body: { refreshToken: session.refreshToken } };
    }
    case 'POST /api/v1/auth/change-password':
      return {
        ...input,
        body: { currentPassword: TEST_PASSWORD, newPassword: 'another fine passphrase 42' },
      };
    case 'POST /api/v1/users':
      return {
        ...input,
        body: { username: `made-${uniqueCounter}`, role: 'member', password: TEST_PASSWORD },
      };
    case 'POST /api/v1/workflows':
      return {
        ...input,
        body: {
          id: `made-${uniqueCounter}`,
          name: 'Made by the suite',
          steps: [{ id: 'echo', type: 'security.echo', input: { value: 1 } }],
        },
      };
    case 'POST /api/v1/hooks/workflows/{workflowId}': {
      const body = JSON.stringify({ delivery: uniqueCounter });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = await signWebhook({ secret: WEBHOOK_SECRET, timestamp, body });
      return {
        ...input,
        body,
        contentType: 'application/json',
        headers: { 'x-kaiwa-timestamp': timestamp, 'x-kaiwa-signature': signature },
      };
    }
    case 'POST /api/v1/files': {
      const roomId = caller.targets[kind].roomId ?? '';
      const { payload, headers } = multipartBody(
        { roomId },
        { name: 'note.txt', content: 'hello', type: 'text/plain' },
      );
      return { ...input, body: payload, contentType: headers['content-type'] };
    }
    case 'POST /api/v1/plugins':
    case 'POST /api/v1/plugins/{pluginId}/upgrade': {
      // A plugin tarball upload (a wrong one: what matters here is who may send it).
      const { payload, headers } = multipartBody(
        { sha256: '0'.repeat(64) },
        { name: 'plugin.tgz', content: 'not a tarball', type: 'application/gzip' },
      );
      return { ...input, body: payload, contentType: headers['content-type'] };
    }
    default:
      return input;
  }
}

async function call(caller: Caller, input: SampleInput, method: Operation['method']) {
  const search = new URLSearchParams(input.query).toString();
  const headers: Record<string, string> = { ...world.headersOf(caller), ...input.headers };
  let payload: string | Buffer | undefined;
  if (input.body !== undefined) {
    headers['content-type'] = input.contentType ?? 'application/json';
    payload =
      typeof input.body === 'string' || Buffer.isBuffer(input.body) ? input.body : JSON.stringify(input.body);
  }
  return world.test.server.app.inject({
    method,
    url: search ? `${input.url}?${search}` : input.url,
    headers,
    ...(payload === undefined ? {} : { payload }),
  });
}

function isKaiwaError(response: LightMyRequestResponse): boolean {
  try {
    const body = response.json() as { error?: { code?: unknown; message?: unknown } };
    return typeof body.error?.code === 'string' && typeof body.error?.message === 'string';
  } catch {
    return false;
  }
}

describe('authorization matrix', () => {
  it('every documented route declares who may call it', () => {
    const undeclared = operations
      .filter((operation) => operation.access === undefined)
      .map((each) => each.name);
    expect(operations.length).toBeGreaterThan(40);
    expect(undeclared, 'add config.access to these routes (see security/route-access.ts)').toEqual([]);
  });

  it('every route × caller × target answers as declared', async () => {
    const failures: string[] = [];
    const observed: string[] = [];
    let cells = 0;
    let deniedCells = 0;
    for (const operation of operations) {
      await world.rebuildTargets();
      for (const caller of world.callers) {
        // Targets that make the same request are tried once, as the first kind.
        const seen = new Set<string>();
        for (const kind of TARGET_KINDS) {
          const base = sampleInput(document, operation, targetFiller(operation.path, caller, kind));
          const key = JSON.stringify([base.url, base.query, base.body]);
          if (seen.has(key)) continue;
          seen.add(key);
          const outcome = declaredOutcome(operation.access ?? {}, caller.kind);
          const expectAllowed = allows(outcome, kind);
          const input = await specialised(operation, base, caller, kind);
          const before = expectAllowed ? undefined : world.snapshot();
          const response = await call(caller, input, operation.method);
          const after = expectAllowed ? undefined : world.snapshot();
          await world.restoreCaller(caller);
          cells += 1;
          const status = response.statusCode;
          const where = `${operation.name} as ${caller.kind} on ${kind} (${input.url}) declared ${outcome}`;
          observed.push(
            `${operation.name}\t${caller.kind}\t${kind}\t${status}\t${response.body.slice(0, 120)}`,
          );
          if (status >= 500) failures.push(`${where}: ${status} ${response.body.slice(0, 200)}`);
          else if (expectAllowed) {
            if (status === 401 || status === 403) {
              failures.push(`${where}: refused with ${status} ${response.body.slice(0, 200)}`);
            }
          } else {
            deniedCells += 1;
            if (![401, 403, 404].includes(status)) {
              failures.push(`${where}: expected a refusal, got ${status} ${response.body.slice(0, 200)}`);
            } else if (!isKaiwaError(response)) {
              failures.push(
                `${where}: the refusal is not in Kaiwa's error format: ${response.body.slice(0, 200)}`,
              );
            } else if (after !== before) {
              const changed = changedTables(before ?? '', after ?? '').join(', ');
              failures.push(`${where}: refused with ${status}, but the store changed (${changed})`);
            }
          }
        }
      }
      await world.restoreCallers();
    }
    console.info(
      `authorization matrix: ${cells} cells checked (${operations.length} routes × ${CALLER_KINDS.length} callers × ` +
        `their targets; ${deniedCells} refusals verified unchanged), ${failures.length} failures`,
    );
    if (DISCOVER) {
      console.info(observed.join('\n'));
      return;
    }
    expect(failures).toEqual([]);
    expect(cells).toBeGreaterThan(operations.length * CALLER_KINDS.length);
  }, 180_000);
});
