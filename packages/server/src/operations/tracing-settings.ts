import { z } from 'zod';

/** How traces are sampled: OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. */
export type TraceSampling =
  | { kind: 'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off' }
  | { kind: 'traceidratio' | 'parentbased_traceidratio'; ratio: number };

/** OpenTelemetry tracing (docs/operations.md, "Tracing"), read from the standard `OTEL_*` variables. */
export interface TracingSettings {
  /** Where spans go, OTLP over HTTP with JSON bodies. @example 'http://127.0.0.1:4318/v1/traces' */
  endpoint: string;
  /** Extra request headers for the endpoint (authentication for a hosted backend). */
  headers: Record<string, string>;
  /** `service.name` of every span; OTEL_SERVICE_NAME, else `kaiwa-server`. */
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, e.g. `deployment.environment.name=production`. */
  resourceAttributes: Record<string, string>;
  sampling: TraceSampling;
}

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const httpUrl = optionalText.refine(
  (value) => value === undefined || /^https?:\/\/[^\s]+$/i.test(value),
  'must be an http:// or https:// URL, such as http://127.0.0.1:4318',
);

/** `key=value,key=value` with percent-encoded values (the OpenTelemetry list format). */
const keyValueList = optionalText.transform((value, context) => {
  const pairs: Record<string, string> = {};
  for (const item of value?.split(',') ?? []) {
    if (item.trim() === '') continue;
    const split = item.indexOf('=');
    const key = item.slice(0, split).trim();
    if (split <= 0 || key === '') {
      context.addIssue({ code: 'custom', message: `"${item.trim()}" is not key=value` });
      return z.NEVER;
    }
    try {
      pairs[key] = decodeURIComponent(item.slice(split + 1).trim());
    } catch {
      context.addIssue({ code: 'custom', message: `the value of ${key} is not percent-encoded text` });
      return z.NEVER;
    }
  }
  return pairs;
});

const tracingEnvironmentSchema = z.object({
  OTEL_SDK_DISABLED: optionalText.pipe(z.enum(['true', 'false']).optional()),
  OTEL_TRACES_EXPORTER: optionalText.pipe(
    z.enum(['otlp', 'none'], { message: 'must be otlp or none (spans go out as OTLP over HTTP)' }).optional(),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl,
  OTEL_EXPORTER_OTLP_PROTOCOL: optionalText.pipe(
    z
      .enum(['http/json', 'http/protobuf'], {
        message:
          'must be http/json or http/protobuf (both are sent as OTLP/HTTP JSON; gRPC is not supported)',
      })
      .optional(),
  ),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optionalText.pipe(
    z
      .enum(['http/json', 'http/protobuf'], {
        message:
          'must be http/json or http/protobuf (both are sent as OTLP/HTTP JSON; gRPC is not supported)',
      })
      .optional(),
  ),
  OTEL_EXPORTER_OTLP_HEADERS: keyValueList,
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: keyValueList,
  OTEL_SERVICE_NAME: optionalText.pipe(z.string().max(200).optional()),
  OTEL_RESOURCE_ATTRIBUTES: keyValueList,
  OTEL_TRACES_SAMPLER: optionalText.pipe(
    z.enum(SAMPLERS, { message: `must be one of ${SAMPLERS.join(', ')}` }).optional(),
  ),
  OTEL_TRACES_SAMPLER_ARG: optionalText.pipe(
    z
      .string()
      .regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/, 'must be a number from 0 to 1, such as 0.1')
      .transform(Number)
      .optional(),
  ),
});

/** The variables this module reads, for the documentation and the config file check. */
const TRACING_VARIABLES = Object.keys(tracingEnvironmentSchema.shape);

/**
 * Tracing settings from the environment, or undefined when tracing stays off: it is on when
 * OTEL_TRACES_EXPORTER is `otlp` or an OTLP endpoint is set, unless OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none. Problems are added to `problems`, one line per variable.
 *
 * @example
 * readTracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, problems)?.endpoint
 * // 'http://127.0.0.1:4318/v1/traces'
 */
export function readTracingSettings(
  env: Record<string, string | undefined>,
  problems: string[],
): TracingSettings | undefined {
  const given = Object.fromEntries(TRACING_VARIABLES.map((name) => [name, env[name]]));
  const result = tracingEnvironmentSchema.safeParse(given);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = String(issue.path[0]);
      // Header values are often credentials: never repeated in an error.
      const shown = name.endsWith('_HEADERS') ? '' : ` (got ${JSON.stringify(env[name])})`;
      problems.push(`${name}: ${issue.message}${shown}`);
    }
    return undefined;
  }
  const settings = result.data;
  if (settings.OTEL_SDK_DISABLED === 'true' || settings.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const endpoint =
    settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (settings.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `${settings.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`
      : undefined);
  if (settings.OTEL_TRACES_EXPORTER !== 'otlp' && endpoint === undefined) return undefined;
  const sampler = settings.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on';
  const sampling: TraceSampling =
    sampler === 'traceidratio' || sampler === 'parentbased_traceidratio'
      ? { kind: sampler, ratio: settings.OTEL_TRACES_SAMPLER_ARG ?? 1 }
      : { kind: sampler };
  return {
    endpoint: endpoint ?? 'http://localhost:4318/v1/traces',
    headers: { ...settings.OTEL_EXPORTER_OTLP_HEADERS, ...settings.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    serviceName: settings.OTEL_SERVICE_NAME ?? 'kaiwa-server',
    resourceAttributes: settings.OTEL_RESOURCE_ATTRIBUTES ?? {},
    sampling,
  };
}
