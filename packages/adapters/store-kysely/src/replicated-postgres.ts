import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * Test helpers, not part of the public API: a real PostgreSQL primary with a streaming hot standby, or a
 * single server a test may crash and restart, made with the machine's own initdb (and pg_basebackup) in
 * a temporary folder, on free ports of 127.0.0.1. They never touch the machine's own PostgreSQL cluster.
 */

const run = promisify(execFile);

export interface ReplicatedPostgres {
  primaryUrl: string;
  replicaUrl: string;
  stop(): Promise<void>;
}

/** The folder of PostgreSQL's server programs (`initdb`, `pg_ctl`), or undefined when none is installed. */
export function postgresBinDirectory(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((version) => join(root, version, 'bin')).find((bin) => existsSync(join(bin, 'initdb')));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A private PostgreSQL server the test may stop and start again, as a restart or crash would. */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, trust authentication. */
  url: string;
  /** Stops the server; `immediate` (the default) is a crash: every session is cut off, no checkpoint. */
  stopServer(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Starts it again on the same port and waits until it accepts connections. */
  startServer(): Promise<void>;
  /** Stops the server and deletes its files. */
  stop(): Promise<void>;
}

type PostgresProgram = (program: string, args: string[]) => Promise<unknown>;

/** A temporary folder PostgreSQL may write, and a runner for its programs (as `postgres` when we are root). */
async function clusterFolder(prefix: string): Promise<{ base: string; pg: PostgresProgram }> {
  const bin = postgresBinDirectory();
  if (!bin) throw new Error('PostgreSQL server programs not found under /usr/lib/postgresql');
  const base = mkdtempSync(join(tmpdir(), prefix));
  // PostgreSQL refuses to run as root: as root, run its programs as the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    chownSync(base, Number(stdout.trim()), Number(group.trim()));
  }
  const pg: PostgresProgram = (program, args) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, program), ...args], { cwd: base })
      : run(join(bin, program), args, { cwd: base });
  return { base, pg };
}

const INITDB_OPTIONS = ['-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'];

function serverOptions(base: string, port: number): string {
  return `-p ${port} -k ${base} -c listen_addresses=127.0.0.1 -c fsync=off`;
}

/** Starts one PostgreSQL server of its own on a free port; stop() ends it and deletes its files. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const { base, pg } = await clusterFolder('kaiwa-pg-private-');
  const data = join(base, 'data');
  const port = await freePort();
  let running = false;
  const startServer = async () => {
    await pg('pg_ctl', [
      '-D',
      data,
      '-o',
      serverOptions(base, port),
      '-l',
      join(base, 'server.log'),
      '-w',
      'start',
    ]);
    running = true;
  };
  const stopServer = async (mode: 'immediate' | 'fast' = 'immediate') => {
    await pg('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
    running = false;
  };
  try {
    await pg('initdb', ['-D', data, ...INITDB_OPTIONS]);
    await startServer();
  } catch (error) {
    rmSync(base, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    startServer,
    stopServer,
    async stop() {
      if (running) await stopServer().catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Starts a primary and a standby replicating from it; stop() ends both and deletes their files. */
export async function startReplicatedPostgres(): Promise<ReplicatedPostgres> {
  const { base, pg } = await clusterFolder('kaiwa-pg-replication-');
  const primary = join(base, 'primary');
  const replica = join(base, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const started: string[] = [];
  const stop = async () => {
    for (const folder of started.reverse()) {
      await pg('pg_ctl', ['-D', folder, '-m', 'immediate', 'stop']).catch(() => undefined);
    }
    rmSync(base, { recursive: true, force: true });
  };
  try {
    await pg('initdb', ['-D', primary, ...INITDB_OPTIONS]);
    await pg('pg_ctl', [
      '-D',
      primary,
      '-o',
      serverOptions(base, primaryPort),
      '-l',
      join(primary, 'server.log'),
      '-w',
      'start',
    ]);
    started.push(primary);
    await pg('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      replica,
      '-R',
      '-X',
      'stream',
    ]);
    await pg('pg_ctl', [
      '-D',
      replica,
      '-o',
      serverOptions(base, replicaPort),
      '-l',
      join(replica, 'server.log'),
      '-w',
      'start',
    ]);
    started.push(replica);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    primaryUrl: `postgres://postgres@127.0.0.1:${primaryPort}/postgres`,
    replicaUrl: `postgres://postgres@127.0.0.1:${replicaPort}/postgres`,
    stop,
  };
}
