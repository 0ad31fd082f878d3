import { createHash } from 'node:crypto';
import type { User } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { defineStepType } from '@kaiwa/workflow';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { hashPassword } from '../auth/passwords.js';
import { startTestServer, TEST_PASSWORD, type TestServer } from '../test-support.js';
import type { CallerKind, TargetKind } from './route-access.js';

/*
 * A real server on SQLite with a cast of callers (one of each kind in route-access.ts) and, per caller, things
 * of three kinds: its own (a public channel it owns, its message and file there, its project, ticket and
 * workflow run), someone else's it can reach (an outsider's public channel it is not in, the outsider's
 * message, file, project, ticket and run) and hidden ones (the outsider's private group and what is in it).
 * The security suites fill route parameters from these. The raw SQLite handle is kept so a test can take a
 * snapshot of every table and prove that a refused call changed nothing.
 */

export const WEBHOOK_SECRET = 'security-suite-webhook-secret-0123456789';
/** A workflow members may start by hand, and one started by a signed webhook. */
export const MANUAL_WORKFLOW = 'security-manual';
export const WEBHOOK_WORKFLOW = 'security-hook';

const echoStep = defineStepType({
  type: 'security.echo',
  description: 'returns its input',
  input: z.object({ value: z.unknown() }),
  run: async (input) => input,
});

/** Ids of one kind of target, by the parameter names routes use. */
export type TargetIds = Record<string, string>;

export interface Caller {
  kind: CallerKind;
  user: User | undefined;
  /** Bearer token, or the API key of the bot; undefined for anonymous calls. */
  credential: string | undefined;
  /** Ids of this caller's targets of each kind; rebuilt by {@link SecurityWorld.rebuildTargets}. */
  targets: Record<TargetKind, TargetIds>;
}

export interface SecurityWorld {
  test: TestServer;
  database: Database.Database;
  callers: Caller[];
  outsider: User;
  /** Makes fresh targets for every caller (routes that delete or leave would spoil old ones). */
  rebuildTargets(): Promise<void>;
  /** Puts every caller back as it was (role, forced password change, password, credential, activity). */
  restoreCallers(): Promise<void>;
  /** The same for one caller: after a call that may have signed it out (reset-password on itself). */
  restoreCaller(caller: Caller): Promise<void>;
  /** Waits until no workflow run is unfinished, so nothing writes behind a test's back. */
  settle(): Promise<void>;
  /** Headers of `caller`'s credential. */
  headersOf(caller: Caller): Record<string, string>;
  /** A digest of every table's rows (derived search indexes and volatile columns left out), a line a table. */
  snapshot(): string;
  close(): Promise<void>;
}

/**
 * Tables and columns that change without the request's own effect being written: derived search indexes,
 * last-used stamps, and the audit log, which records refusals on purpose.
 */
const VOLATILE_TABLE = /fts|^sqlite_|search|^audit_/i;
const VOLATILE_COLUMNS = new Set(['last_used_at', 'lastUsedAt']);

export async function openSecurityWorld(): Promise<SecurityWorld> {
  const database = new Database(':memory:');
  const store = await createSqliteStore({ database });
  const test = await startTestServer(
    {
      loginRateLimitPerMinute: 10_000,
      workflows: {
        directory: undefined,
        webhookSecrets: { [WEBHOOK_WORKFLOW]: WEBHOOK_SECRET },
        webhookToleranceSeconds: 300,
      },
    },
    { store, workflowSteps: [echoStep] },
  );
  const { server } = test;
  const { engine, accounts } = server;
  const passwordHash = await hashPassword(TEST_PASSWORD);
  let counter = 0;
  const unique = (prefix: string) => {
    counter += 1;
    return `${prefix}-${counter}`;
  };

  const makeUser = async (role: User['role'], username: string, forcePasswordChange = false) =>
    engine.createUser({ username, role, forcePasswordChange }, role === 'bot' ? {} : { passwordHash });
  const outsider = await makeUser('member', 'outsider');
  const admin = await makeUser('admin', 'security-admin');

  const kinds: CallerKind[] = ['anonymous', 'guest', 'member', 'moderator', 'admin', 'bot', 'passwordChange'];
  const callers: Caller[] = [];
  for (const kind of kinds) {
    const empty = { mine: {}, others: {}, hidden: {} };
    if (kind === 'anonymous') {
      callers.push({ kind, user: undefined, credential: undefined, targets: empty });
      continue;
    }
    const role = kind === 'passwordChange' ? 'member' : kind;
    const user =
      kind === 'admin'
        ? admin
        : await makeUser(role, `caller-${kind}`.toLowerCase(), kind === 'passwordChange');
    callers.push({ kind, user, credential: await credentialFor(user), targets: empty });
  }

  async function credentialFor(user: User): Promise<string> {
    if (user.role === 'bot') return (await accounts.createApiKey(user.id, unique('key'))).key;
    return (await accounts.login(user.username, TEST_PASSWORD)).accessToken;
  }

  await server.workflows.engine.define(
    {
      id: MANUAL_WORKFLOW,
      name: 'Security manual',
      steps: [{ id: 'echo', type: 'security.echo', input: { value: 1 } }],
    },
    admin.id,
  );
  await server.workflows.engine.define(
    {
      id: WEBHOOK_WORKFLOW,
      name: 'Security hook',
      trigger: { type: 'webhook' },
      steps: [{ id: 'echo', type: 'security.echo', input: { value: 1 } }],
    },
    admin.id,
  );

  async function fileIn(userId: string, roomId: string): Promise<string> {
    const key = `security/${unique('blob')}`;
    const content = Buffer.from('plain text for the security suite');
    await server.blobs.put(key, content);
    const record = await engine.createFileRecord(userId, {
      roomId,
      name: 'note.txt',
      mimeType: 'text/plain',
      size: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      storageKey: key,
    });
    return record.id;
  }

  async function runOf(actorId: string): Promise<string> {
    const run = await server.workflows.engine.start(MANUAL_WORKFLOW, {
      actorId,
      trigger: { type: 'manual', userId: actorId },
    });
    return run.id;
  }

  async function botWithKey(): Promise<{ botId: string; keyId: string }> {
    const bot = await makeUser('bot', unique('victim-bot'));
    const { apiKey } = await accounts.createApiKey(bot.id, unique('key'));
    return { botId: bot.id, keyId: apiKey.id };
  }

  async function rebuildTargets(): Promise<void> {
    // Someone else's: an outsider's public channel the callers are not in, and what is in it.
    const channel = await engine.createRoom(outsider.id, { kind: 'channel', name: unique('others') });
    const othersMessage = await engine.sendMessage(outsider.id, { roomId: channel.id, text: 'hello' });
    await engine.addReaction(outsider.id, othersMessage.id, '👍');
    const othersFile = await fileIn(outsider.id, channel.id);
    const othersProject = await engine.createProject(outsider.id, { name: unique('project') });
    const othersTicket = await engine.createTicket(outsider.id, {
      projectId: othersProject.id,
      title: 'a ticket',
    });
    const othersRun = await runOf(outsider.id);
    // Hidden: the outsider's private group.
    const group = await engine.createRoom(outsider.id, { kind: 'group', name: unique('hidden') });
    const hiddenMessage = await engine.sendMessage(outsider.id, { roomId: group.id, text: 'secret' });
    await engine.addReaction(outsider.id, hiddenMessage.id, '👍');
    const hiddenFile = await fileIn(outsider.id, group.id);
    const othersKey = await botWithKey();
    // Someone to act on: a member of every room here, the subject of user routes (reset, deactivate, …).
    const victim = await makeUser('member', unique('victim'));
    await engine.joinRoom(victim.id, channel.id);
    await engine.inviteToRoom(outsider.id, group.id, victim.id);

    for (const caller of callers) {
      const user = caller.user;
      const others: TargetIds = {
        roomId: channel.id,
        messageId: othersMessage.id,
        fileId: othersFile,
        projectId: othersProject.id,
        ticketId: othersTicket.id,
        runId: othersRun,
        userId: victim.id,
        username: victim.username,
        memberId: victim.id,
      };
      const hidden: TargetIds = {
        ...others,
        roomId: group.id,
        messageId: hiddenMessage.id,
        fileId: hiddenFile,
      };
      if (!user) {
        caller.targets = { mine: others, others, hidden };
        continue;
      }
      // Its own: a public channel it owns (invited and made owner, so guests have one too), its message
      // and file there, its project and ticket, its run.
      const own = await engine.createRoom(outsider.id, {
        kind: 'channel',
        name: unique(`own-${caller.kind}`),
      });
      await engine.inviteToRoom(outsider.id, own.id, user.id);
      await engine.setMemberRole(outsider.id, own.id, user.id, 'owner');
      await engine.inviteToRoom(outsider.id, own.id, victim.id);
      const message = await engine.sendMessage(user.id, { roomId: own.id, text: 'mine' });
      await engine.addReaction(user.id, message.id, '👍');
      const file = await fileIn(user.id, own.id);
      const workUser = user.role === 'guest' ? outsider.id : user.id;
      const project = await engine.createProject(workUser, { name: unique('my-project') });
      const ticket = await engine.createTicket(workUser, { projectId: project.id, title: 'my ticket' });
      const run = await runOf(user.role === 'guest' ? outsider.id : user.id);
      const key = user.role === 'bot' ? undefined : await botWithKey();
      const ownKeyId =
        key?.keyId ?? (await accounts.listApiKeys(user.id)).find((each) => each.revokedAt === null)?.id;
      caller.targets = {
        mine: {
          roomId: own.id,
          messageId: message.id,
          fileId: file,
          projectId: project.id,
          ticketId: ticket.id,
          runId: run,
          userId: user.id,
          username: user.username,
          // In a room: another member; for API keys: the bot and its key.
          memberId: victim.id,
          apiKeyUserId: key?.botId ?? user.id,
          apiKeyId: ownKeyId ?? '',
        },
        others: { ...others, apiKeyUserId: othersKey.botId, apiKeyId: othersKey.keyId },
        hidden: { ...hidden, apiKeyUserId: othersKey.botId, apiKeyId: othersKey.keyId },
      };
    }
    await settle();
  }

  /** Waits until no workflow run is unfinished, so nothing writes behind a test's back. */
  async function settle(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const row = database
        .prepare("select count(*) as n from workflow_runs where status in ('pending', 'running')")
        .get() as { n: number };
      if (row.n === 0) return;
      if (Date.now() > deadline) throw new Error(`${row.n} workflow runs did not finish`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async function restoreCallers(): Promise<void> {
    await settle();
    for (const caller of callers) await restoreCaller(caller);
  }

  async function restoreCaller(caller: Caller): Promise<void> {
    {
      const original = caller.user;
      if (!original) return;
      const resolved = caller.credential ? await accounts.resolveCredential(caller.credential) : undefined;
      const now = await engine.getUser(original.id);
      const intact =
        resolved?.user.id === original.id &&
        now.role === original.role &&
        now.forcePasswordChange === original.forcePasswordChange &&
        !now.deactivatedAt &&
        (original.role === 'bot' || (await store.accounts.getPasswordHash(original.id)) === passwordHash);
      if (intact) return;
      if (now.deactivatedAt) await engine.reactivateUser(admin.id, original.id);
      if (now.role !== original.role) await engine.updateUser(admin.id, original.id, { role: original.role });
      if (original.role !== 'bot') {
        await engine.setPassword(original.id, passwordHash, { forceChange: original.forcePasswordChange });
      }
      caller.user = await engine.getUser(original.id);
      caller.credential = await credentialFor(caller.user);
    }
  }

  // SQLite counts every row written on the connection: while the count stands still, so does the digest.
  let digested: { changes: number; digest: string } | undefined;
  function snapshot(): string {
    const { changes } = database.prepare('select total_changes() as changes').get() as { changes: number };
    if (digested?.changes === changes) return digested.digest;
    digested = { changes, digest: digestTables() };
    return digested.digest;
  }

  /**
   * `table:digest` per table, one a line, so a difference names the tables that changed. SQLite writes each
   * table's rows out as one text (every value by `quote()`: its type, its text, a blob in hex), so the rows
   * need not become JavaScript objects: the suites take hundreds of snapshots of a growing database.
   */
  function digestTables(): string {
    const tables = database
      .prepare("select name from sqlite_master where type = 'table' order by name")
      .all() as { name: string }[];
    const lines: string[] = [];
    for (const { name } of tables) {
      if (VOLATILE_TABLE.test(name)) continue;
      const columns = (
        database.prepare('select name from pragma_table_info(?)').all(name) as { name: string }[]
      )
        .map((column) => column.name)
        .filter((column) => !VOLATILE_COLUMNS.has(column));
      const row =
        columns.length === 0 ? "''" : columns.map((column) => `quote("${column}")`).join(" || ',' || ");
      const { rows } = database
        .prepare(
          `select count(*) || char(10) || group_concat(${row}, char(10)) as rows from (select * from "${name}")`,
        )
        .get() as { rows: string | null };
      lines.push(
        `${name}:${createHash('sha256')
          .update(rows ?? '')
          .digest('hex')
          .slice(0, 16)}`,
      );
    }
    return lines.join('\n');
  }

  await rebuildTargets();
  return {
    test,
    database,
    callers,
    outsider,
    rebuildTargets,
    restoreCallers,
    restoreCaller,
    settle,
    headersOf(caller): Record<string, string> {
      if (!caller.credential) return {};
      return caller.user?.role === 'bot'
        ? { 'x-api-key': caller.credential }
        : { authorization: `Bearer ${caller.credential}` };
    },
    snapshot,
    async close() {
      await test.close();
      await store.close();
    },
  };
}

/** Target ids by parameter name for a route: member routes name a room member, key routes a bot. */
export function targetFiller(path: string, caller: Caller, kind: TargetKind) {
  const targets = caller.targets[kind];
  return (name: string): string | undefined => {
    if (name === 'userId' && path.includes('/api-keys')) return targets.apiKeyUserId;
    if (name === 'userId' && path.includes('/members/{userId}')) return targets.memberId;
    if (name === 'workflowId') return path.includes('/hooks/') ? WEBHOOK_WORKFLOW : MANUAL_WORKFLOW;
    if (name === 'emoji') return '👍';
    if (name === 'platform') return 'slack';
    return targets[name];
  };
}

/** The tables whose digests differ between two snapshots. */
export function changedTables(before: string, after: string): string[] {
  const old = new Set(before.split('\n'));
  return after
    .split('\n')
    .filter((line) => !old.has(line))
    .map((line) => line.split(':')[0]!);
}
