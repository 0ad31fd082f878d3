import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * Test helper, not part of the public API: a real PostgreSQL primary with a streaming hot standby, made
 * with the machine's own initdb and pg_basebackup in a temporary folder, on two free ports of 127.0.0.1.
 * It never touches the machine's own PostgreSQL cluster.
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

/** Starts a primary and a standby replicating from it; stop() ends both and deletes their files. */
export async function startReplicatedPostgres(): Promise<ReplicatedPostgres> {
  const bin = postgresBinDirectory();
  if (!bin) throw new Error('PostgreSQL server programs not found under /usr/lib/postgresql');
  const base = mkdtempSync(join(tmpdir(), 'kaiwa-pg-replication-'));
  // PostgreSQL refuses to run as root: as root, run its programs as the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    chownSync(base, Number(stdout.trim()), Number(group.trim()));
  }
  const pg = (program: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, program), ...args], { cwd: base })
      : run(join(bin, program), args, { cwd: base });

  const primary = join(base, 'primary');
  const replica = join(base, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const serverOptions = (port: number) => `-p ${port} -k ${base} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const started: string[] = [];
  const stop = async () => {
    for (const folder of started.reverse()) {
      await pg('pg_ctl', ['-D', folder, '-m', 'immediate', 'stop']).catch(() => undefined);
    }
    rmSync(base, { recursive: true, force: true });
  };
  try {
    await pg('initdb', [
      '-D',
      primary,
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]);
    await pg('pg_ctl', [
      '-D',
      primary,
      '-o',
      serverOptions(primaryPort),
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
      serverOptions(replicaPort),
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
