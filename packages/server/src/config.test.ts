import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_UPLOAD_TYPES, loadConfig, parseByteSize, parseDuration } from './config.js';

const directory = mkdtempSync(join(tmpdir(), 'kaiwa-config-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env, cwd: directory });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has defaults that start an embedded server with nothing set', () => {
    const config = loadConfig({ env: {}, cwd: directory });
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      dataDirectory: join(directory, '.data'),
      databaseUrl: join(directory, '.data', 'kaiwa.sqlite'),
      databaseReplicaUrls: [],
      uploadDirectory: join(directory, '.data', 'uploads'),
      maxUploadBytes: 25 * 1024 * 1024,
      uploadAllowedTypes: [...DEFAULT_UPLOAD_TYPES],
      jwtSecret: undefined,
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 30 * 86_400,
      accountsEnabled: true,
      allowSignup: false,
      corsOrigins: [],
      slowQueryMs: 200,
      logLevel: 'info',
      nodeEnvironment: 'development',
    });
  });

  it('composes voice from KAIWA_TRANSCRIBER and KAIWA_SYNTHESIZER, off by default', () => {
    expect(loadConfig({ env: {}, cwd: directory }).voice).toEqual({
      transcriber: undefined,
      synthesizer: undefined,
    });
    expect(
      loadConfig({
        env: {
          KAIWA_TRANSCRIBER: 'PocketSphinx',
          KAIWA_SYNTHESIZER: 'espeak-ng',
          KAIWA_SYNTHESIZER_VOICE: 'ja',
        },
        cwd: directory,
      }).voice,
    ).toEqual({
      transcriber: { kind: 'pocketsphinx', language: undefined },
      synthesizer: { kind: 'espeak-ng', voice: 'ja' },
    });
    expect(
      loadConfig({
        env: {
          KAIWA_TRANSCRIBER: 'http://127.0.0.1:8080/v1',
          KAIWA_TRANSCRIBER_MODEL: 'whisper-1',
          KAIWA_TRANSCRIBER_LANGUAGE: 'ja',
          KAIWA_SYNTHESIZER: 'https://tts.example/v1',
          KAIWA_SYNTHESIZER_MODEL: 'tts-1',
        },
        cwd: directory,
      }).voice,
    ).toEqual({
      transcriber: {
        kind: 'openai-compatible',
        baseUrl: 'http://127.0.0.1:8080/v1',
        model: 'whisper-1',
        apiKey: undefined,
        language: 'ja',
      },
      synthesizer: {
        kind: 'openai-compatible',
        baseUrl: 'https://tts.example/v1',
        model: 'tts-1',
        voice: undefined,
        apiKey: undefined,
      },
    });
    const problems = problemsOf({
      KAIWA_TRANSCRIBER: 'whisper',
      KAIWA_SYNTHESIZER: 'http://tts.example/v1',
      KAIWA_SYNTHESIZER_API_KEY: 'sk-secret',
    });
    expect(problems).toEqual([
      'KAIWA_TRANSCRIBER: must be none, pocketsphinx, whisper.cpp, or the base URL of an OpenAI-compatible server such as http://127.0.0.1:8080/v1 (got "whisper" from the environment)',
    ]);
    expect(
      loadConfig({
        env: { KAIWA_TRANSCRIBER: 'whisper.cpp', KAIWA_TRANSCRIBER_MODEL: 'models/ggml-base.bin' },
        cwd: directory,
      }).voice.transcriber,
    ).toEqual({
      kind: 'whisper.cpp',
      modelPath: join(directory, 'models/ggml-base.bin'),
      language: undefined,
    });
    expect(problemsOf({ KAIWA_TRANSCRIBER: 'whisper.cpp' })).toEqual([
      'KAIWA_TRANSCRIBER_MODEL: must be set when KAIWA_TRANSCRIBER is whisper.cpp (the path of a ggml Whisper model, e.g. /models/ggml-base.bin)',
    ]);
    expect(problemsOf({ KAIWA_SYNTHESIZER: 'http://tts.example/v1' })).toEqual([
      'KAIWA_SYNTHESIZER_MODEL: must be set when KAIWA_SYNTHESIZER is a URL (the model name the server knows, e.g. tts-1)',
    ]);
    expect(DEFAULT_UPLOAD_TYPES).toEqual(
      expect.arrayContaining(['audio/webm', 'audio/ogg', 'audio/mp4', 'audio/wav']),
    );
  });

  it('refuses read replicas unless the primary is PostgreSQL', () => {
    expect(
      problemsOf({
        KAIWA_DATABASE_REPLICA_URLS: 'postgres://replica/kaiwa',
        KAIWA_DATABASE_URL: 'chat.sqlite',
      }),
    ).toEqual(['KAIWA_DATABASE_REPLICA_URLS: read replicas need KAIWA_DATABASE_URL to be a postgres:// URL']);
    expect(
      problemsOf({
        KAIWA_DATABASE_URL: 'postgres://db/kaiwa',
        KAIWA_DATABASE_REPLICA_URLS: 'mysql://replica/kaiwa',
      })[0],
    ).toMatch(/^KAIWA_DATABASE_REPLICA_URLS: /);
  });

  it('reads environment variables in their usual spellings', () => {
    const config = loadConfig({
      cwd: directory,
      env: {
        PORT: '8080',
        HOST: '127.0.0.1',
        KAIWA_DATA_DIR: 'var',
        KAIWA_DATABASE_URL: 'postgres://kaiwa:secret@db:5432/kaiwa',
        KAIWA_DATABASE_REPLICA_URLS:
          'postgres://kaiwa:secret@replica-1:5432/kaiwa, postgres://kaiwa:secret@replica-2/kaiwa',
        KAIWA_MAX_UPLOAD_BYTES: '10MiB',
        KAIWA_UPLOAD_ALLOWED_TYPES: 'image/*, application/pdf',
        KAIWA_ACCESS_TOKEN_TTL: '5m',
        KAIWA_REFRESH_TOKEN_TTL: '7d',
        KAIWA_ACCOUNTS: 'yes',
        KAIWA_ALLOW_SIGNUP: 'TRUE',
        KAIWA_CORS_ORIGINS: 'https://a.example, http://localhost:5173',
        KAIWA_SLOW_QUERY_MS: '50',
        LOG_LEVEL: 'debug',
        NODE_ENV: 'production',
        KAIWA_METRICS_TOKEN: 'metrics-token-0123456789',
      },
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDirectory: join(directory, 'var'),
      databaseUrl: 'postgres://kaiwa:secret@db:5432/kaiwa',
      databaseReplicaUrls: [
        'postgres://kaiwa:secret@replica-1:5432/kaiwa',
        'postgres://kaiwa:secret@replica-2/kaiwa',
      ],
      uploadDirectory: join(directory, 'var', 'uploads'),
      maxUploadBytes: 10 * 1024 * 1024,
      uploadAllowedTypes: ['image/*', 'application/pdf'],
      accessTokenTtlSeconds: 300,
      refreshTokenTtlSeconds: 7 * 86_400,
      allowSignup: true,
      corsOrigins: ['https://a.example', 'http://localhost:5173'],
      slowQueryMs: 50,
      logLevel: 'debug',
      nodeEnvironment: 'production',
    });
  });

  it('reports every wrong setting at once, each naming its variable', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      KAIWA_MAX_UPLOAD_BYTES: 'lots',
      KAIWA_ACCESS_TOKEN_TTL: '10 fortnights',
      KAIWA_ACCOUNTS: 'maybe',
      KAIWA_CORS_ORIGINS: 'https://ok.example,not a url',
      KAIWA_JWT_SECRET: 'short',
      KAIWA_DATABASE_URL: 'mongodb://nope',
      LOG_LEVEL: 'loud',
      NODE_ENV: 'staging',
    });
    const named = problems.map((problem) => problem.split(':')[0]);
    expect(named.sort()).toEqual(
      [
        'KAIWA_ACCESS_TOKEN_TTL',
        'KAIWA_ACCOUNTS',
        'KAIWA_CORS_ORIGINS',
        'KAIWA_DATABASE_URL',
        'KAIWA_JWT_SECRET',
        'KAIWA_MAX_UPLOAD_BYTES',
        'LOG_LEVEL',
        'NODE_ENV',
        'PORT',
      ].sort(),
    );
    expect(problems).toContain('PORT: must be a port number (got "eighty" from the environment)');
    expect(problems.find((problem) => problem.startsWith('KAIWA_ACCOUNTS'))).toBe(
      'KAIWA_ACCOUNTS: must be true or false (got "maybe" from the environment)',
    );
    // Secrets are never echoed back.
    expect(problems.find((problem) => problem.startsWith('KAIWA_JWT_SECRET'))).not.toContain('short');
  });

  it('refuses accounts off under production unless forced', () => {
    expect(
      problemsOf({ KAIWA_ACCOUNTS: 'false', NODE_ENV: 'production', KAIWA_METRICS_PORT: '9464' }),
    ).toEqual([expect.stringMatching(/^KAIWA_ACCOUNTS: .*KAIWA_ALLOW_ANONYMOUS_IN_PRODUCTION=true/)]);
    const forced = loadConfig({
      cwd: directory,
      env: {
        KAIWA_ACCOUNTS: 'false',
        NODE_ENV: 'production',
        KAIWA_ALLOW_ANONYMOUS_IN_PRODUCTION: 'true',
        KAIWA_METRICS_PORT: '9464',
      },
    });
    expect(forced.accountsEnabled).toBe(false);
    expect(loadConfig({ cwd: directory, env: { KAIWA_ACCOUNTS: 'off' } }).accountsEnabled).toBe(false);
  });

  it('refuses production with /metrics open to everyone, naming both ways to close it', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      expect.stringMatching(
        /^KAIWA_METRICS_TOKEN: .*KAIWA_METRICS_TOKEN .*KAIWA_METRICS_PORT .*127\.0\.0\.1/,
      ),
    ]);
    const withToken = loadConfig({
      cwd: directory,
      env: { NODE_ENV: 'production', KAIWA_METRICS_TOKEN: 'metrics-token-0123456789' },
    });
    expect(withToken).toMatchObject({ metricsToken: 'metrics-token-0123456789', metricsPort: undefined });
    const withPort = loadConfig({
      cwd: directory,
      env: { NODE_ENV: 'production', KAIWA_METRICS_PORT: '9464' },
    });
    expect(withPort.metricsPort).toBe(9464);
    expect(problemsOf({ KAIWA_METRICS_PORT: '3000' })).toEqual(['KAIWA_METRICS_PORT: must differ from PORT']);
    expect(problemsOf({ KAIWA_METRICS_PORT: 'local' })[0]).toMatch(
      /^KAIWA_METRICS_PORT: must be a port number/,
    );
    // Development keeps the open /metrics it always had.
    expect(loadConfig({ cwd: directory, env: {} }).metricsPort).toBeUndefined();
  });

  it('turns error tracking on with SENTRY_DSN, naming a bad DSN without echoing it', () => {
    expect(loadConfig({ cwd: directory, env: {} }).errorTracking).toBeUndefined();
    expect(
      loadConfig({
        cwd: directory,
        env: { SENTRY_DSN: 'https://abc123@o1.ingest.sentry.io/42', NODE_ENV: 'test' },
      }).errorTracking,
    ).toEqual({ dsn: 'https://abc123@o1.ingest.sentry.io/42', environment: 'test', release: undefined });
    expect(
      loadConfig({
        cwd: directory,
        env: {
          SENTRY_DSN: 'http://key@127.0.0.1:9000/sentry/7',
          SENTRY_ENVIRONMENT: 'staging',
          SENTRY_RELEASE: 'kaiwa@1.2.3',
        },
      }).errorTracking,
    ).toEqual({ dsn: 'http://key@127.0.0.1:9000/sentry/7', environment: 'staging', release: 'kaiwa@1.2.3' });
    for (const dsn of [
      'sentry',
      'https://o1.ingest.sentry.io/42',
      'https://abc@o1.ingest.sentry.io/',
      'ftp://a@b/1',
    ]) {
      expect(problemsOf({ SENTRY_DSN: dsn })).toEqual([
        'SENTRY_DSN: must be a Sentry DSN such as https://<public key>@o0.ingest.sentry.io/<project id>',
      ]);
    }
    expect(problemsOf({ SENTRY_DSN: 'https://a@b/1', SENTRY_ENVIRONMENT: 'my env' })[0]).toMatch(
      /^SENTRY_ENVIRONMENT: must be 1–64 characters/,
    );
  });

  it('makes SQLite durable by default, with normal as the switch', () => {
    expect(loadConfig({ cwd: directory, env: {} }).sqliteSynchronous).toBe('full');
    expect(
      loadConfig({ cwd: directory, env: { KAIWA_SQLITE_SYNCHRONOUS: 'NORMAL' } }).sqliteSynchronous,
    ).toBe('normal');
    expect(problemsOf({ KAIWA_SQLITE_SYNCHRONOUS: 'off' })).toEqual([
      'KAIWA_SQLITE_SYNCHRONOUS: must be full, full-async or normal (got "off" from the environment)',
    ]);
  });

  it('reads a JSON config file, with the environment winning', () => {
    const path = join(directory, 'kaiwa.json');
    writeFileSync(
      path,
      JSON.stringify({ PORT: 4000, HOST: '::', KAIWA_ALLOW_SIGNUP: true, LOG_LEVEL: 'warn' }),
    );
    const config = loadConfig({ cwd: directory, env: { KAIWA_CONFIG: 'kaiwa.json', LOG_LEVEL: 'error' } });
    expect(config).toMatchObject({ port: 4000, host: '::', allowSignup: true, logLevel: 'error' });
  });

  it('names problems in the config file too', () => {
    writeFileSync(join(directory, 'bad.json'), JSON.stringify({ PORT: 70_000, KAIWA_COLOUR: 'blue' }));
    const problems = problemsOf({ KAIWA_CONFIG: 'bad.json' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^KAIWA_COLOUR: unknown setting in /),
        'PORT: must be at most 65535 (got 70000 from the config file)',
      ]),
    );
    writeFileSync(join(directory, 'broken.json'), '{ "PORT": ');
    expect(problemsOf({ KAIWA_CONFIG: 'broken.json' })).toEqual([
      expect.stringMatching(/^KAIWA_CONFIG: .* JSON/),
    ]);
    expect(problemsOf({ KAIWA_CONFIG: 'missing.json' })).toEqual([
      expect.stringMatching(/^KAIWA_CONFIG: .*cannot be read/),
    ]);
  });
});

describe('parsing helpers', () => {
  it('reads sizes and durations', () => {
    expect(parseByteSize('26214400')).toBe(26_214_400);
    expect(parseByteSize('25MiB')).toBe(25 * 1024 * 1024);
    expect(parseByteSize('1.5 kb')).toBe(1500);
    expect(parseByteSize('ten')).toBeUndefined();
    expect(parseDuration('900')).toBe(900);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('30d')).toBe(2_592_000);
    expect(parseDuration('1w')).toBeUndefined();
  });
});
