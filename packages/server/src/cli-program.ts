import { ChatEngine, NotFoundError } from '@kaiwa/core';
import { Command, CommanderError } from 'commander';
import { buildServer, type KaiwaServer } from './app.js';
import { AuditLog } from './audit/audit-log.js';
import { AccountService } from './auth/account-service.js';
import { SessionRevocations } from './auth/session-revocations.js';
import { loadTokenSecret } from './auth/token-secret.js';
import { AccessTokens } from './auth/tokens.js';
import { ConfigError, loadConfig, type ServerConfig, startupWarnings } from './config.js';
import { RequestSigning } from './http/request-signing.js';
import { openSharedState } from './scale/bus-composition.js';
import { describeDatabase, openStore } from './storage/open-store.js';

/** Bus trouble in a one-shot command: a line on standard error. */
const quietLogger = {
  warn: (_details: object, message: string) => process.stderr.write(`kaiwa: ${message}\n`),
  error: (_details: object, message: string) => process.stderr.write(`kaiwa: ${message}\n`),
};

/** Where the CLI writes and how it ends; tests pass their own. */
export interface CliEnvironment {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Registers a handler for SIGINT and SIGTERM. */
  onSignal: (handler: (signal: NodeJS.Signals) => void) => void;
  exit: (code: number) => void;
}

/** How long a graceful shutdown may take before the process gives up waiting. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

/**
 * The `kaiwa` command line: `start`, `migrate`, `create-admin`, `reset-password`, `audit verify`.
 * Settings come from the
 * environment (and KAIWA_CONFIG), as for the server itself.
 */
export function createProgram(environment: CliEnvironment): Command {
  const program = new Command('kaiwa')
    .description('Kaiwa chat server')
    .showHelpAfterError()
    .configureOutput({ writeOut: environment.stdout, writeErr: environment.stderr })
    .exitOverride();

  program
    .command('start')
    .description('start the server (migrates the database first)')
    .action(async () => {
      const config = loadConfig({ env: environment.env });
      await startServer(config, environment);
    });

  program
    .command('migrate')
    .description('bring the database schema to the newest version')
    .action(async () => {
      const config = loadConfig({ env: environment.env });
      const store = await openStore(config.databaseUrl, { replicaUrls: config.databaseReplicaUrls });
      try {
        const { applied } = await store.migrate();
        environment.stdout(
          applied.length > 0
            ? `Migrated ${describeDatabase(config.databaseUrl)}: ${applied.join(', ')}\n`
            : `${describeDatabase(config.databaseUrl)} is up to date\n`,
        );
      } finally {
        await store.close();
      }
    });

  program
    .command('create-admin')
    .description('create an administrator with a one-time password (printed once)')
    .requiredOption('--username <username>', 'lower-case username')
    .option('--display-name <name>', 'name shown to people')
    .action(async (options: { username: string; displayName?: string }) => {
      await withAccounts(environment, async (accounts, _engine, audit) => {
        const { user, password } = await accounts.createAccount({
          username: options.username,
          displayName: options.displayName,
          role: 'admin',
        });
        await audit.record({
          action: 'user.created',
          target: { type: 'user', id: user.id },
          details: { username: user.username, role: 'admin', via: 'cli' },
        });
        environment.stdout(
          `Created administrator ${user.username}.\nOne-time password: ${password}\n` +
            'It must be changed at the first sign-in and is shown only this once.\n',
        );
      });
    });

  program
    .command('reset-password')
    .description('give a user a new one-time password (printed once) and sign them out everywhere')
    .requiredOption('--username <username>', 'whose password to reset')
    .action(async (options: { username: string }) => {
      await withAccounts(environment, async (accounts, engine, audit) => {
        const user = await engine.getUserByUsername(options.username);
        const { password } = await accounts.resetPassword(user.id);
        await audit.record({
          action: 'user.password_reset',
          target: { type: 'user', id: user.id },
          details: { via: 'cli' },
        });
        environment.stdout(
          `New one-time password for ${user.username}: ${password}\n` +
            'They must choose a new password at the next sign-in; every session of theirs was signed out.\n',
        );
      });
    });

  program
    .command('create-signing-key')
    .description('create a request-signing key for an admin or a bot (the secret is printed once)')
    .requiredOption('--username <username>', 'whose key it is')
    .requiredOption('--name <name>', 'what the key is for')
    .action(async (options: { username: string; name: string }) => {
      const config = loadConfig({ env: environment.env });
      const store = await openStore(config.databaseUrl, { replicaUrls: config.databaseReplicaUrls });
      try {
        await store.migrate();
        const user = await store.users.findByUsername(options.username);
        if (!user) throw new NotFoundError('user', options.username);
        const { secret } = loadTokenSecret(config.jwtSecret, config.dataDirectory);
        const signing = new RequestSigning({ store, serverSecret: secret, requirements: [] });
        const created = await signing.createSigningKey(user, user.id, options.name.trim());
        await new AuditLog({ repository: store.audit }).record({
          action: 'api_key.created',
          target: { type: 'api_key', id: created.apiKey.id },
          details: { userId: user.id, name: options.name, signing: true, via: 'cli' },
        });
        environment.stdout(
          `Signing key for ${user.username}: ${created.apiKey.id}\nSecret: ${created.secret}\n` +
            'It is shown only this once; sign requests with it as docs/security.md describes.\n',
        );
      } finally {
        await store.close();
      }
    });

  const audit = program.command('audit').description('the audit log of security-relevant actions');
  audit
    .command('verify')
    .description('walk the hash chain; report the first changed, inserted or deleted entry (exit code 1)')
    .action(async () => {
      const config = loadConfig({ env: environment.env });
      const store = await openStore(config.databaseUrl, { replicaUrls: config.databaseReplicaUrls });
      let report: Awaited<ReturnType<AuditLog['verify']>>;
      try {
        await store.migrate();
        report = await new AuditLog({ repository: store.audit }).verify();
      } finally {
        await store.close();
      }
      if (report.ok) {
        environment.stdout(
          `The audit log is intact: ${report.entries} entries, head ${report.head.seq} ${report.head.hash}\n`,
        );
        return;
      }
      const { kind, seq, message } = report.problem;
      environment.stderr(
        `The audit log is broken at entry ${seq} (${kind}): ${message}.\n` +
          `${report.entries} entries before it check out.\n`,
      );
      throw new CommanderError(1, 'kaiwa.auditBroken', message);
    });

  return program;
}

/**
 * Runs the CLI with `argv` (as in `process.argv`), reporting errors the way a person can act on them.
 * @returns the exit code for commands that finish; `start` keeps running until a signal.
 */
export async function runCli(argv: string[], environment: CliEnvironment): Promise<number | undefined> {
  try {
    await createProgram(environment).parseAsync(argv);
    return argv.includes('start') ? undefined : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ConfigError) {
      environment.stderr(`${error.message}\n`);
      return 2;
    }
    if (error instanceof NotFoundError) {
      environment.stderr(`${error.message}\n`);
      return 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    environment.stderr(`kaiwa: ${message}\n`);
    return 1;
  }
}

async function startServer(config: ServerConfig, environment: CliEnvironment): Promise<KaiwaServer> {
  const server = await buildServer(config, { announce: environment.stdout });
  const address = await server.listen();
  const shown = address.replace('://0.0.0.0:', '://localhost:').replace('://[::]:', '://localhost:');
  environment.stdout(`Kaiwa is listening on ${shown} (API docs: ${shown}/api/docs)\n`);
  for (const warning of startupWarnings(config)) environment.stderr(`kaiwa: warning: ${warning}\n`);

  let stopping = false;
  environment.onSignal((signal) => {
    if (stopping) {
      environment.stderr(`${signal} again: exiting without waiting\n`);
      environment.exit(1);
      return;
    }
    stopping = true;
    server.app.log.info({ signal }, 'shutting down: finishing requests and closing connections');
    const giveUp = setTimeout(() => {
      environment.stderr(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS / 1000}s; exiting\n`);
      environment.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    giveUp.unref();
    server.close().then(
      () => {
        clearTimeout(giveUp);
        environment.stdout('Kaiwa stopped.\n');
        environment.exit(0);
      },
      (error: unknown) => {
        clearTimeout(giveUp);
        environment.stderr(`shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
        environment.exit(1);
      },
    );
  });
  return server;
}

async function withAccounts(
  environment: CliEnvironment,
  work: (accounts: AccountService, engine: ChatEngine, audit: AuditLog) => Promise<void>,
): Promise<void> {
  const config = loadConfig({ env: environment.env });
  if (!config.accountsEnabled) throw new Error('accounts are turned off (KAIWA_ACCOUNTS=false)');
  const store = await openStore(config.databaseUrl, { replicaUrls: config.databaseReplicaUrls });
  // The servers' bus, so a password reset from here closes the user's sockets on every running instance.
  const shared = await openSharedState(config.bus, quietLogger);
  const revocations = new SessionRevocations({ lifetimeMs: config.accessTokenTtlSeconds * 1000 });
  const engine = new ChatEngine({
    store,
    bus: shared.bus,
    onSessionsRevoked: (revocation) => revocations.apply(revocation),
    defaultChannels: config.defaultChannels,
  });
  try {
    await store.migrate();
    const { secret } = loadTokenSecret(config.jwtSecret, config.dataDirectory);
    const accounts = new AccountService({
      engine,
      store,
      accessTokens: new AccessTokens(secret, config.accessTokenTtlSeconds),
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      revocations,
    });
    await work(accounts, engine, new AuditLog({ repository: store.audit }));
  } finally {
    engine.close();
    await shared.close();
    await store.close();
  }
}
