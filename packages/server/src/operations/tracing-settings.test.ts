import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { readTracingSettings } from './tracing-settings.js';

const read = (env: Record<string, string>) => {
  const problems: string[] = [];
  return { settings: readTracingSettings(env, problems), problems };
};

describe('tracing settings from OTEL_* variables', () => {
  it('are off unless an exporter or an endpoint is set, and off again with OTEL_SDK_DISABLED or none', () => {
    expect(read({})).toEqual({ settings: undefined, problems: [] });
    expect(read({ OTEL_SERVICE_NAME: 'chat' }).settings).toBeUndefined();
    expect(read({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).settings).toBeUndefined();
    expect(
      read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).settings,
    ).toBeUndefined();
  });

  it('default to the local collector, every trace sampled, service kaiwa-server', () => {
    expect(read({ OTEL_TRACES_EXPORTER: 'otlp' }).settings).toEqual({
      endpoint: 'http://localhost:4318/v1/traces',
      headers: {},
      serviceName: 'kaiwa-server',
      resourceAttributes: {},
      sampling: { kind: 'parentbased_always_on' },
    });
  });

  it('take the endpoints, headers, resource attributes and sampler the OpenTelemetry way', () => {
    const { settings, problems } = read({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://tempo.example:4318/',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-scope-orgid=kaiwa',
      OTEL_SERVICE_NAME: 'kaiwa-eu',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=production',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    });
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      endpoint: 'https://tempo.example:4318/v1/traces',
      headers: { authorization: 'Bearer abc', 'x-scope-orgid': 'kaiwa' },
      serviceName: 'kaiwa-eu',
      resourceAttributes: { 'deployment.environment.name': 'production' },
      sampling: { kind: 'parentbased_traceidratio', ratio: 0.1 },
    });
    // The traces endpoint is used as it is.
    expect(
      read({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9999/custom',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x',
      }).settings?.endpoint,
    ).toBe('http://127.0.0.1:9999/custom');
  });

  it('refuse what they cannot honour, one line per variable, never echoing headers', () => {
    const { problems } = read({
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '1.5',
      OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign-secret',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector',
    });
    expect(problems.map((line) => line.split(':')[0]).sort()).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_TRACES_EXPORTER',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
    ]);
    expect(problems.join('\n')).not.toContain('(got "no-equals-sign-secret")');
  });

  it('reach the server configuration, and stop it starting when wrong', () => {
    expect(loadConfig({ env: {} }).tracing).toBeUndefined();
    expect(
      loadConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' } }).tracing?.endpoint,
    ).toBe('http://127.0.0.1:4318/v1/traces');
    expect(() => loadConfig({ env: { OTEL_TRACES_SAMPLER_ARG: 'ten percent' } })).toThrow(ConfigError);
  });
});
