import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';

/*
 * Prometheus itself scrapes a listening server the way docs/operations.md sets it up: job "kaiwa", the main
 * port with the KAIWA_METRICS_TOKEN bearer token, the shipped alert rules loaded. Debian's `prometheus`
 * package provides the binary (.ci/run installs it); without it this test skips, unless
 * KAIWA_TEST_PROMETHEUS=1 makes that a failure.
 */

const RULES = fileURLToPath(new URL('../../../../deploy/prometheus/kaiwa-alerts.yml', import.meta.url));
const TOKEN = 'prometheus-scrape-token-0123456789';

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
if (!hasPrometheus && process.env.KAIWA_TEST_PROMETHEUS === '1') {
  throw new Error('KAIWA_TEST_PROMETHEUS=1 but prometheus is missing: apt-get install prometheus');
}
if (!hasPrometheus)
  console.warn('prometheus is missing (apt-get install prometheus): the scrape test is skipped');

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

interface QueryAnswer {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe.skipIf(!hasPrometheus)('Prometheus scraping a running server', () => {
  let test: TestServer;
  let prometheus: ChildProcess;
  let prometheusUrl: string;
  let serverUrl: string;
  let work: string;
  let prometheusLog = '';

  async function get<T>(path: string): Promise<T> {
    const answer = await fetch(`${prometheusUrl}${path}`);
    expect(answer.status).toBe(200);
    return (await answer.json()) as T;
  }

  /** Polls `read` until it returns something other than undefined. */
  async function eventually<T>(
    what: string,
    read: () => Promise<T | undefined>,
    timeoutMs = 30_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read().catch(() => undefined);
      if (value !== undefined) return value;
      if (prometheus.exitCode !== null)
        throw new Error(`prometheus exited (${prometheus.exitCode}):\n${prometheusLog}`);
      if (Date.now() > deadline)
        throw new Error(`${what} within ${timeoutMs} ms; prometheus said:\n${prometheusLog}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  beforeAll(async () => {
    test = await startTestServer({ host: '127.0.0.1', port: 0, metricsToken: TOKEN });
    serverUrl = await test.server.listen();
    const target = new URL(serverUrl).host;
    work = mkdtempSync(join(tmpdir(), 'kaiwa-prometheus-'));
    writeFileSync(join(work, 'token'), TOKEN);
    writeFileSync(
      join(work, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(RULES)}`,
        'scrape_configs:',
        '  - job_name: kaiwa',
        '    authorization:',
        `      credentials_file: ${JSON.stringify(join(work, 'token'))}`,
        '    static_configs:',
        `      - targets: [${JSON.stringify(target)}]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(work, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(work, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (chunk) => {
      prometheusLog += chunk;
    });
    prometheus.stderr?.on('data', (chunk) => {
      prometheusLog += chunk;
    });
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await test?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('finds the target up, with the token, and stores Kaiwa series; the alert rules load and evaluate', async () => {
    const target = await eventually('no healthy kaiwa target', async () => {
      const answer = await get<{
        data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] };
      }>('/api/v1/targets');
      const found = answer.data.activeTargets.find((candidate) => candidate.labels.job === 'kaiwa');
      return found?.health === 'up' ? found : undefined;
    });
    expect(target.lastError).toBe('');

    const up = await eventually('no up{job="kaiwa"} sample', async () => {
      const answer = await get<QueryAnswer>(`/api/v1/query?query=${encodeURIComponent('up{job="kaiwa"}')}`);
      return answer.data.result.length > 0 ? answer.data.result : undefined;
    });
    expect(up.map((sample) => sample.value[1])).toEqual(['1']);

    // Series of Kaiwa's own, as stored: the database gauge and the requests this test made (the scrapes).
    const database = await get<QueryAnswer>(`/api/v1/query?query=kaiwa_database_available`);
    expect(database.data.result).toEqual([
      expect.objectContaining({
        metric: expect.objectContaining({ job: 'kaiwa' }),
        value: [expect.any(Number), '1'],
      }),
    ]);
    const bus = await get<QueryAnswer>(`/api/v1/query?query=kaiwa_bus_connected`);
    expect(bus.data.result.map((sample) => [sample.metric.kind, sample.value[1]])).toEqual([['memory', '1']]);
    const nodeSeries = await get<QueryAnswer>(`/api/v1/query?query=nodejs_eventloop_lag_p99_seconds`);
    expect(nodeSeries.data.result).toHaveLength(1);

    // The shipped rules, evaluated against that data: every rule healthy, and none pending or firing (no
    // rule's expression holds) on a healthy server.
    const rules = await eventually('the alert rules not evaluated', async () => {
      const answer = await get<{
        data: {
          groups: { name: string; rules: { name: string; health: string; lastEvaluation: string }[] }[];
        };
      }>('/api/v1/rules');
      const all = answer.data.groups.flatMap((group) => group.rules);
      return all.length > 0 && all.every((rule) => !rule.lastEvaluation.startsWith('0001')) ? all : undefined;
    });
    expect(rules.filter((rule) => rule.health !== 'ok')).toEqual([]);
    expect(rules.map((rule) => rule.name)).toContain('KaiwaInstanceDown');
    const alerts = await get<{ data: { alerts: { labels: { alertname: string }; state: string }[] } }>(
      '/api/v1/alerts',
    );
    expect(alerts.data.alerts.map((alert) => `${alert.labels.alertname} ${alert.state}`)).toEqual([]);

    // Without the token the same endpoint is closed: the scrape above really used it.
    expect((await fetch(`${serverUrl}/metrics`)).status).toBe(401);
  }, 60_000);
});
