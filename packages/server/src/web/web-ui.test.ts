import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../test-support.js';

const uiDirectory = mkdtempSync(join(tmpdir(), 'kaiwa-ui-'));
afterAll(() => rmSync(uiDirectory, { recursive: true, force: true }));

describe('web UI', () => {
  it('serves a placeholder page while the UI is not built', async () => {
    const test = await startTestServer({ uiDirectory: join(uiDirectory, 'missing') });
    try {
      const page = await test.call('GET', '/', { headers: { accept: 'text/html' } });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.body).toContain('the web chat UI is still being built');
      expect(page.body).toContain('href="/api/docs"');
    } finally {
      await test.close();
    }
  });

  it('serves the built UI, with its client-side routes falling back to index.html', async () => {
    writeFileSync(
      join(uiDirectory, 'index.html'),
      '<!doctype html><title>Kaiwa UI</title><script src="/app.js"></script>',
    );
    writeFileSync(join(uiDirectory, 'app.js'), 'console.log("kaiwa");');
    const test = await startTestServer({ uiDirectory });
    try {
      const index = await test.call('GET', '/', { headers: { accept: 'text/html' } });
      expect(index.body).toContain('<title>Kaiwa UI</title>');
      expect(index.headers['cache-control']).toBe('no-cache');
      const script = await test.call('GET', '/app.js');
      expect(script.headers['content-type']).toContain('javascript');
      expect(script.headers['cache-control']).toContain('immutable');
      const deepLink = await test.call('GET', '/rooms/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X', {
        headers: { accept: 'text/html' },
      });
      expect(deepLink.statusCode).toBe(200);
      expect(deepLink.body).toContain('<title>Kaiwa UI</title>');
      // The API and missing files still answer 404 in the error format.
      const api = await test.call('GET', '/api/v1/nowhere', { headers: { accept: 'text/html' } });
      expect(api.statusCode).toBe(404);
      expect(api.json().error.code).toBe('not_found');
      expect((await test.call('GET', '/missing.js')).statusCode).toBe(404);
      expect((await test.call('GET', '/../../etc/passwd')).statusCode).toBe(404);
    } finally {
      await test.close();
    }
  });

  it('serves the service worker and the manifest fresh, with a CSP that lets the worker run', async () => {
    writeFileSync(join(uiDirectory, 'index.html'), '<!doctype html><title>Kaiwa UI</title>');
    writeFileSync(join(uiDirectory, 'sw.js'), 'self.addEventListener("fetch", () => {});');
    writeFileSync(join(uiDirectory, 'manifest.webmanifest'), '{"name":"Kaiwa"}');
    const test = await startTestServer({ uiDirectory });
    try {
      const worker = await test.call('GET', '/sw.js');
      expect(worker.statusCode).toBe(200);
      expect(worker.headers['content-type']).toContain('javascript');
      expect(worker.headers['cache-control']).toBe('no-cache');
      const manifest = await test.call('GET', '/manifest.webmanifest');
      expect(manifest.headers['content-type']).toContain('application/manifest+json');
      expect(manifest.headers['cache-control']).toBe('no-cache');
      const csp = String(worker.headers['content-security-policy']);
      expect(csp).toContain("worker-src 'self'");
      expect(csp).toContain("manifest-src 'self'");
    } finally {
      await test.close();
    }
  });
});
