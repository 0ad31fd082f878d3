import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';
import { HANDLER_STATUSES, operationIdOf } from './openapi-document.js';

/*
 * The OpenAPI document the server serves, linted by Redocly CLI with the repository's redocly.yaml (the
 * recommended rules): no errors and no warnings, with accounts and signup on and with accounts off (the
 * routes differ). `npx redocly lint <file>` gives the same answer by hand.
 */

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const REDOCLY = join(ROOT, 'node_modules', '.bin', 'redocly');

interface LintProblem {
  ruleId: string;
  severity: string;
  message: string;
  location: { pointer?: string }[];
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>>;
}

describe('the OpenAPI document under Redocly lint', () => {
  let document: OpenApiDocument;
  /** The document of a server without accounts (anonymous nicknames instead of sign-in). */
  let anonymousDocument: OpenApiDocument;
  let directory: string;

  async function documentOf(overrides: Parameters<typeof startTestServer>[0]): Promise<OpenApiDocument> {
    const test = await startTestServer(overrides);
    try {
      const response = await test.call('GET', '/api/docs/json');
      expect(response.statusCode).toBe(200);
      return response.json();
    } finally {
      await test.close();
    }
  }

  beforeAll(async () => {
    [document, anonymousDocument] = await Promise.all([
      documentOf({ allowSignup: true }),
      documentOf({ accountsEnabled: false }),
    ]);
    directory = mkdtempSync(join(tmpdir(), 'kaiwa-openapi-'));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('has no errors and no warnings', async () => {
    const problems = await Promise.all([
      lint('openapi-accounts.json', document),
      lint('openapi-anonymous.json', anonymousDocument),
    ]);
    expect(problems.flat()).toEqual([]);
  });

  /** Redocly's problems with `content`, one line each: severity, rule, where and what. */
  async function lint(name: string, content: OpenApiDocument): Promise<string[]> {
    const file = join(directory, name);
    writeFileSync(file, JSON.stringify(content, null, 2));
    const { stdout } = await promisify(execFile)(
      REDOCLY,
      ['lint', file, '--format=json', `--config=${join(ROOT, 'redocly.yaml')}`],
      {
        cwd: ROOT,
        maxBuffer: 64 * 1024 * 1024,
        // No usage reports and no update checks from a test run.
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    ).catch((error: { stdout?: string; stderr?: string }) => {
      // Redocly exits 1 when there are errors; the report is on stdout all the same.
      if (!error.stdout) throw new Error(`redocly lint did not run: ${error.stderr ?? String(error)}`);
      return { stdout: error.stdout };
    });
    const report = JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: LintProblem[];
    };
    const problems = report.problems.map(
      (problem) =>
        `${name}: ${problem.severity} ${problem.ruleId} at ${problem.location[0]?.pointer ?? '?'}: ${problem.message}`,
    );
    if (report.totals.errors + report.totals.warnings > 0 && problems.length === 0) {
      problems.push(`${name}: ${JSON.stringify(report.totals)}`);
    }
    return problems;
  }

  it('names every operation after its method and path', () => {
    expect(operationIdOf('get', '/api/v1/rooms/{roomId}/messages')).toBe('getRoomsRoomIdMessages');
    expect(operationIdOf('delete', '/api/v1/users/{userId}/api-keys/{apiKeyId}')).toBe(
      'deleteUsersUserIdApiKeysApiKeyId',
    );
    expect(operationIdOf('get', '/health')).toBe('getHealth');
    expect(document.paths['/api/v1/auth/login']?.post?.operationId).toBe('postAuthLogin');
    expect(document.paths['/api/v1/rooms/{roomId}/messages']?.get?.operationId).toBe(
      'getRoomsRoomIdMessages',
    );
  });

  it('documents the error answers each operation can give', () => {
    const statuses = (path: string, method: string) =>
      Object.keys(document.paths[path]?.[method]?.responses ?? {});
    // Authenticated, a path parameter, a JSON body, a per-user rate limit, a unique client message id.
    expect(statuses('/api/v1/rooms/{roomId}/messages', 'post')).toEqual([
      '201',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '429',
      '500',
      '503',
      '4XX',
    ]);
    // Public and rate-limited: no 401.
    expect(statuses('/api/v1/auth/login', 'post')).toEqual([
      '200',
      '400',
      '413',
      '415',
      '429',
      '500',
      '503',
      '4XX',
    ]);
    const text = JSON.stringify([document, anonymousDocument]);
    expect(text).not.toContain('Default Response');
    expect(text).not.toContain('x-kaiwa-error-statuses');
    expect(document.paths['/api/v1/rooms']?.get?.responses['401']).toEqual({
      $ref: '#/components/responses/Unauthorized',
    });
    // Each operation the document module names by hand is still an operation of the server.
    for (const [name, listed] of Object.entries(HANDLER_STATUSES)) {
      const [method = '', path = ''] = name.split(' ');
      const operation =
        document.paths[path]?.[method.toLowerCase()] ?? anonymousDocument.paths[path]?.[method.toLowerCase()];
      expect(operation, name).toBeDefined();
      for (const status of listed) expect(operation?.responses, name).toHaveProperty(String(status));
    }
  });
});

describe('the API documentation page', () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer();
  });
  afterAll(() => test.close());

  it('needs nothing inline: the site-wide CSP covers every script and style it loads', async () => {
    const page = await test.call('GET', '/api/docs');
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+';/);
    expect(csp).toMatch(/style-src 'self' 'nonce-[^']+';/);
    expect(csp).not.toContain('unsafe-inline');
    expect(page.body).not.toMatch(/<style|\sstyle=|<script(?![^>]*\ssrc=)/i);
    const sources = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, source]) => source ?? '');
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) expect(source, source).toMatch(/^\/api\/docs\/static\//);
    // Without swagger-ui's top bar, whose SVG logo carries an inline <style>.
    const initializer = await test.call('GET', '/api/docs/static/swagger-initializer.js');
    expect(initializer.body).toContain('"layout":"BaseLayout"');
  });
});
