import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';

/*
 * The alert rules and dashboards in deploy/ against the real thing: promtool checks the rules and runs their
 * unit tests, lints a live server's /metrics, and every metric a rule or panel names must be one that server
 * exposes. promtool comes with Debian's `prometheus` package (.ci/run installs it); without it these tests
 * skip, unless KAIWA_TEST_PROMETHEUS=1 makes that a failure.
 */

const deploy = fileURLToPath(new URL('../../../../deploy/', import.meta.url));
const rulesDirectory = `${deploy}prometheus/`;
const dashboardsDirectory = `${deploy}grafana/`;

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = promtool.status === 0;
if (!hasPromtool && process.env.KAIWA_TEST_PROMETHEUS === '1') {
  throw new Error('KAIWA_TEST_PROMETHEUS=1 but promtool is missing: apt-get install prometheus');
}
if (!hasPromtool) console.warn('promtool is missing (apt-get install prometheus): its checks are skipped');

/** Names of PromQL functions, keywords and aggregations: what is not a metric in an expression. */
const NOT_METRICS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** Series Prometheus makes itself for every target. */
const SCRAPE_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/**
 * The metric names a PromQL expression reads: identifiers left once strings, label matchers, grouping
 * clauses, ranges, Grafana variables and function calls are taken out.
 */
function metricNamesIn(expression: string): string[] {
  const stripped = expression
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const name = match[0];
    const next = stripped.slice((match.index ?? 0) + name.length).trimStart();
    if (next.startsWith('(') || NOT_METRICS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Every expression of the alert and recording rules. */
function ruleExpressions(): { where: string; expression: string }[] {
  const text = readFileSync(`${rulesDirectory}kaiwa-alerts.yml`, 'utf8');
  // The rules file is YAML; its expressions are `expr:` values, on one line or as a `|` block.
  const found: { where: string; expression: string }[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? '';
    const match = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!match) continue;
    const alert = lines
      .slice(0, index)
      .reverse()
      .find((previous) => /^\s*- alert:/.test(previous));
    const where = `kaiwa-alerts.yml ${alert?.trim() ?? `line ${index + 1}`}`;
    if (match[2] !== '|') {
      found.push({ where, expression: match[2] ?? '' });
      continue;
    }
    const indent = (match[1] ?? '').length;
    const block: string[] = [];
    while (index + 1 < lines.length) {
      const next = lines[index + 1] ?? '';
      if (next.trim() !== '' && next.length - next.trimStart().length <= indent) break;
      block.push(next);
      index++;
    }
    found.push({ where, expression: block.join('\n') });
  }
  return found;
}

function dashboardExpressions(): { where: string; expression: string }[] {
  return readdirSync(dashboardsDirectory)
    .filter((file) => file.endsWith('.json'))
    .flatMap((file) => {
      const dashboard = JSON.parse(readFileSync(`${dashboardsDirectory}${file}`, 'utf8')) as {
        panels: { title: string; targets?: { expr: string }[] }[];
      };
      return dashboard.panels.flatMap((panel) =>
        (panel.targets ?? []).map((target) => ({
          where: `${file} "${panel.title}"`,
          expression: target.expr,
        })),
      );
    });
}

/** The names a /metrics text declares, with the series names histograms and summaries add. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (!name) continue;
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

describe('metrics, alert rules and dashboards', () => {
  let test: TestServer;
  let metricsText: string;

  beforeAll(async () => {
    test = await startTestServer();
    await test.call('GET', '/health');
    const answer = await test.call('GET', '/metrics');
    expect(answer.statusCode).toBe(200);
    metricsText = answer.body;
  });
  afterAll(async () => {
    await test?.close();
  });

  it('finds the metric names in PromQL', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (job, le) (rate(kaiwa_http_request_duration_seconds_bucket{job="kaiwa", instance=~"$instance"}[5m]))) > 2',
      ),
    ).toEqual(['kaiwa_http_request_duration_seconds_bucket']);
    expect(metricNamesIn('sum(up{job="kaiwa"}) / count(nodejs_eventloop_lag_p99_seconds) > bool 0')).toEqual([
      'up',
      'nodejs_eventloop_lag_p99_seconds',
    ]);
  });

  it('names only metrics a live server exposes, in every rule and panel', () => {
    const exposed = exposedNames(metricsText);
    const expressions = [...ruleExpressions(), ...dashboardExpressions()];
    expect(expressions.length).toBeGreaterThan(40);
    const unknown = expressions.flatMap(({ where, expression }) =>
      metricNamesIn(expression)
        .filter((name) => !exposed.has(name) && !SCRAPE_SERIES.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
    // Each alert the operations guide promises is there.
    const alerts = ruleExpressions().map(({ where }) => where.split('- alert: ')[1]);
    for (const alert of [
      'KaiwaInstanceDown',
      'KaiwaHighErrorRatio',
      'KaiwaSlowRequests',
      'KaiwaEventLoopLag',
      'KaiwaBusDisconnected',
      'KaiwaBusLag',
      'KaiwaOutboxBacklog',
      'KaiwaDatabaseUnavailable',
    ]) {
      expect(alerts).toContain(alert);
    }
  });

  it('exposes the workflow, LLM, bus, database and outbox series', () => {
    const exposed = exposedNames(metricsText);
    for (const name of [
      'kaiwa_workflow_runs_total',
      'kaiwa_workflow_step_attempt_duration_seconds',
      'kaiwa_workflow_step_retries_total',
      'kaiwa_llm_requests_total',
      'kaiwa_llm_tokens_total',
      'kaiwa_llm_time_to_first_token_seconds',
      'kaiwa_bus_connected',
      'kaiwa_bus_published_events_total',
      'kaiwa_bus_delivered_events_total',
      'kaiwa_bus_delivery_lag_seconds',
      'kaiwa_bus_delivery_clock_skew_total',
      'kaiwa_database_available',
      'kaiwa_platform_outbox_pending',
      'kaiwa_platform_inbox_pending',
      'kaiwa_platform_inbox_oldest_pending_age_seconds',
      'kaiwa_ocr_pages_total',
    ]) {
      expect(exposed).toContain(name);
    }
    expect(metricsText).toMatch(/^kaiwa_bus_connected\{kind="memory"\} 1$/m);
    expect(metricsText).toMatch(/^kaiwa_bus_delivery_lag_seconds_count\{kind="memory"\} 0$/m);
    expect(metricsText).toMatch(/^kaiwa_database_available 1$/m);
    expect(metricsText).toMatch(/^kaiwa_platform_outbox_pending 0$/m);
    expect(metricsText).toMatch(/^kaiwa_platform_inbox_pending 0$/m);
    // Node's gauges that ended in _total (a counter's suffix) are gone; their by-type forms stay.
    expect(metricsText).not.toMatch(/^nodejs_active_\w+_total/m);
    expect(metricsText).toMatch(/^# TYPE nodejs_active_handles gauge$/m);
  });

  it.skipIf(!hasPromtool)('lints clean with promtool check metrics, Node defaults included', () => {
    const result = spawnSync('promtool', ['check', 'metrics'], { input: metricsText, encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it.skipIf(!hasPromtool)('has alert rules that promtool accepts and whose unit tests pass', () => {
    const check = execFileSync('promtool', ['check', 'rules', 'kaiwa-alerts.yml'], {
      cwd: rulesDirectory,
      encoding: 'utf8',
    });
    expect(check).toContain('SUCCESS');
    const config = execFileSync('promtool', ['check', 'config', 'prometheus.yml'], {
      cwd: rulesDirectory,
      encoding: 'utf8',
    });
    expect(config).toContain('SUCCESS');
    const unit = spawnSync('promtool', ['test', 'rules', 'kaiwa-alerts.test.yml'], {
      cwd: rulesDirectory,
      encoding: 'utf8',
    });
    expect(`${unit.stdout}${unit.stderr}`).toContain('SUCCESS');
    expect(unit.status).toBe(0);
  });
});
