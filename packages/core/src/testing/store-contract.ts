import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatEngine, SYSTEM_ACTOR } from '../engine/chat-engine.js';
import { ConflictError, ForbiddenError, type KaiwaError, NotFoundError, ValidationError } from '../errors.js';
import type { ChatEvent } from '../events.js';
import { createId } from '../ids.js';
import type { ChatStore } from '../ports/chat-store.js';
import { MAX_MESSAGE_BYTES, type Message } from '../schemas/message.js';
import { MEMBER_ROLES, type MemberRole, type Room } from '../schemas/room.js';
import { transcriptOf } from '../schemas/transcript.js';
import type { UserRole } from '../schemas/user.js';

export interface ChatStoreContractOptions {
  /** Shown in the test names, e.g. `sqlite`. */
  name: string;
  /** Opens a fresh, migrated store of its own. Called once per suite; `close()` is called at the end. */
  open: () => Promise<ChatStore>;
  /** When set, the suite is skipped and this reason printed once. */
  skip?: string;
}

/**
 * The storage conformance suite. Every `ChatStore` implementation runs it; it drives the store through the
 * `ChatEngine`, so it checks what users of Kaiwa rely on: entities round-trip, cursors are stable, sends are
 * idempotent, search finds what a user may read, and a rejected call writes nothing.
 *
 * @example
 * chatStoreContract({ name: 'sqlite', open: () => createSqliteStore({ filename: ':memory:' }).then(migrated) });
 */
export function chatStoreContract(options: ChatStoreContractOptions): void {
  if (options.skip) {
    console.info(`[${options.name}] storage conformance suite skipped: ${options.skip}`);
    describe.skip(`ChatStore contract: ${options.name}`, () => {
      it('is skipped', () => {});
    });
    return;
  }

  describe(`ChatStore contract: ${options.name}`, () => {
    let store: ChatStore;
    let engine: ChatEngine;
    const events: ChatEvent[] = [];

    beforeAll(async () => {
      store = await options.open();
      engine = new ChatEngine({ store });
      engine.subscribe((event) => events.push(event));
    });
    afterAll(async () => {
      engine?.close();
      await store?.close();
    });

    /** Usernames and room names unique to this run, so suites may share a database. */
    const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
    const user = (role: UserRole = 'member') => engine.createUser({ username: unique(role), role });
    const channel = async (ownerId: string, memberIds: string[] = []) =>
      engine.createRoom(ownerId, { kind: 'channel', name: unique('room'), memberIds });
    const timeline = async (actorId: string, roomId: string) =>
      (await engine.history(actorId, { roomId, limit: 200 })).messages;
    const rejects = async (call: Promise<unknown>, type: new (...args: never[]) => KaiwaError) => {
      const error = await call.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(type);
      return error as KaiwaError;
    };

    describe('schema', () => {
      it('runs migrations a second time as a no-op', async () => {
        expect(await store.migrate()).toEqual({ applied: [] });
      });
    });

    describe('users', () => {
      it('creates, finds, lists and updates users', async () => {
        const alice = await engine.createUser({
          username: unique('alice'),
          displayName: 'Alice 愛',
          role: 'moderator',
        });
        expect(await engine.getUser(alice.id)).toEqual(alice);
        expect(await engine.getUserByUsername(alice.username.toUpperCase())).toEqual(alice);
        const moderators = await engine.listUsers({ role: 'moderator', limit: 200 });
        expect(moderators.map((u) => u.id)).toContain(alice.id);
        expect(moderators.every((u) => u.role === 'moderator')).toBe(true);
        const renamed = await engine.updateUser(alice.id, alice.id, { displayName: 'Alice 🌸' });
        expect(await engine.getUser(alice.id)).toEqual(renamed);
        expect(renamed.displayName).toBe('Alice 🌸');
      });

      it('refuses a taken username with a conflict naming the field', async () => {
        const alice = await user();
        const error = await rejects(engine.createUser({ username: alice.username }), ConflictError);
        expect((error as ConflictError).field).toBe('username');
      });

      it('names the bad field of invalid input', async () => {
        const error = await rejects(engine.createUser({ username: 'No Spaces!' }), ValidationError);
        expect((error as ValidationError).issues[0]?.path).toEqual(['username']);
      });

      it('lets only admins change roles, and a refused change writes nothing', async () => {
        const member = await user();
        const other = await user();
        await rejects(engine.updateUser(member.id, member.id, { role: 'admin' }), ForbiddenError);
        await rejects(engine.updateUser(member.id, other.id, { displayName: 'x' }), ForbiddenError);
        expect((await engine.getUser(member.id)).role).toBe('member');
        expect((await engine.getUser(other.id)).displayName).toBe(other.displayName);
        const admin = await user('admin');
        expect((await engine.updateUser(admin.id, member.id, { role: 'moderator' })).role).toBe('moderator');
      });
    });

    describe('rooms and membership', () => {
      it('creates channels and groups with their members', async () => {
        const owner = await user();
        const member = await user();
        const room = await engine.createRoom(owner.id, {
          kind: 'group',
          name: unique('group'),
          topic: 'トピック',
          memberIds: [member.id],
        });
        expect(await engine.getRoom(member.id, room.id)).toEqual(room);
        const members = await engine.listMembers(owner.id, room.id);
        expect(members.map((m) => [m.userId, m.role]).sort()).toEqual(
          [
            [owner.id, 'owner'],
            [member.id, 'member'],
          ].sort(),
        );
      });

      it('keeps channel names unique, and never reveals a private group by its name', async () => {
        const owner = await user();
        const outsider = await user();
        const secret = await engine.createRoom(owner.id, { kind: 'group', name: unique('secret') });
        // Another group, and a channel, may take the name: refusing them would tell an outsider it exists.
        const sameNameGroup = await engine.createRoom(outsider.id, { kind: 'group', name: secret.name! });
        const sameNameChannel = await engine.createRoom(outsider.id, { kind: 'channel', name: secret.name! });
        expect(new Set([secret.id, sameNameGroup.id, sameNameChannel.id]).size).toBe(3);
        await rejects(engine.getRoom(outsider.id, secret.id), NotFoundError);
        // Channels are public, so a taken channel name is a conflict naming the field.
        const error = await rejects(
          engine.createRoom(owner.id, { kind: 'channel', name: sameNameChannel.name! }),
          ConflictError,
        );
        expect((error as ConflictError).field).toBe('name');
        const other = await engine.createRoom(owner.id, { kind: 'channel', name: unique('other') });
        const renamed = await rejects(
          engine.updateRoom(owner.id, other.id, { name: sameNameChannel.name! }),
          ConflictError,
        );
        expect((renamed as ConflictError).field).toBe('name');
        // A group may be renamed onto any name, a channel onto a group's.
        const group = await engine.createRoom(owner.id, { kind: 'group', name: unique('group') });
        expect((await engine.updateRoom(owner.id, group.id, { name: secret.name! })).name).toBe(secret.name);
        const taken = unique('taken');
        await engine.createRoom(outsider.id, { kind: 'group', name: taken });
        expect((await engine.updateRoom(owner.id, other.id, { name: taken })).name).toBe(taken);
      });

      it('joins channels, invites to groups, leaves, and hides groups from outsiders', async () => {
        const owner = await user();
        const walker = await user();
        const open = await channel(owner.id);
        const closed = await engine.createRoom(owner.id, { kind: 'group', name: unique('group') });
        await engine.joinRoom(walker.id, open.id);
        await rejects(engine.joinRoom(walker.id, closed.id), NotFoundError);
        await rejects(engine.getRoom(walker.id, closed.id), NotFoundError);
        await engine.inviteToRoom(owner.id, closed.id, walker.id);
        expect((await engine.getRoom(walker.id, closed.id)).id).toBe(closed.id);
        await engine.leaveRoom(walker.id, closed.id);
        await rejects(engine.getRoom(walker.id, closed.id), NotFoundError);
        const mine = await engine.listRooms(walker.id);
        expect(mine.map((summary) => summary.room.id)).toEqual([open.id]);
      });

      it('lets room moderators remove plain members only; owners and admins remove anyone', async () => {
        const owner = await user();
        const moderator = await user();
        const other = await user();
        const member = await user();
        const admin = await user('admin');
        const room = await channel(owner.id, [moderator.id, other.id, member.id]);
        await engine.setMemberRole(owner.id, room.id, moderator.id, 'moderator');
        await engine.setMemberRole(owner.id, room.id, other.id, 'moderator');
        const memberIds = async () =>
          (await engine.listMembers(owner.id, room.id)).map((each) => each.userId).sort();

        await rejects(engine.removeFromRoom(moderator.id, room.id, owner.id), ForbiddenError);
        await rejects(engine.removeFromRoom(moderator.id, room.id, other.id), ForbiddenError);
        await rejects(engine.removeFromRoom(member.id, room.id, other.id), ForbiddenError);
        expect(await memberIds()).toEqual([owner.id, moderator.id, other.id, member.id].sort());

        await engine.removeFromRoom(moderator.id, room.id, member.id);
        await engine.removeFromRoom(owner.id, room.id, other.id);
        await engine.removeFromRoom(admin.id, room.id, owner.id);
        expect(await memberIds()).toEqual([moderator.id]);
      });

      it('scopes what a reader may retrieve: their rooms, every channel unless a guest, every project unless a guest', async () => {
        const owner = await user();
        const reader = await user();
        const guest = await user('guest');
        const joined = await engine.createRoom(owner.id, { kind: 'group', name: unique('group') });
        await engine.inviteToRoom(owner.id, joined.id, reader.id);
        await engine.inviteToRoom(owner.id, joined.id, guest.id);
        const closed = await engine.createRoom(owner.id, { kind: 'group', name: unique('group') });
        const open = await channel(owner.id);
        const archived = await channel(owner.id);
        await engine.updateRoom(owner.id, archived.id, { archived: true });
        const project = await engine.createProject(owner.id, { name: unique('project') });

        const scope = await engine.readableScope(reader.id);
        expect(new Set(scope.roomIds).size).toBe(scope.roomIds.length);
        expect(scope.roomIds).toEqual(expect.arrayContaining([joined.id, open.id, archived.id]));
        expect(scope.roomIds).not.toContain(closed.id);
        expect(scope.projectIds).toContain(project.id);
        expect(await engine.readableScope(guest.id)).toEqual({ roomIds: [joined.id], projectIds: [] });
      });

      it('opens one direct room per pair, also when both open it at once', async () => {
        const a = await user();
        const b = await user();
        const [first, second] = await Promise.all([
          engine.openDirectRoom(a.id, b.id),
          engine.openDirectRoom(b.id, a.id),
        ]);
        expect(first.id).toBe(second.id);
        expect((await engine.openDirectRoom(a.id, b.id)).id).toBe(first.id);
        expect(first.kind).toBe('direct');
        const outsider = await user();
        await rejects(engine.getRoom(outsider.id, first.id), NotFoundError);
      });

      it('lets owners manage a room and refuses others without writing', async () => {
        const owner = await user();
        const member = await user();
        const room = await channel(owner.id, [member.id]);
        await rejects(engine.updateRoom(member.id, room.id, { topic: 'hijacked' }), ForbiddenError);
        expect((await engine.getRoom(owner.id, room.id)).topic).toBe('');
        const updated = await engine.updateRoom(owner.id, room.id, {
          topic: 'release planning',
          archived: true,
        });
        expect(updated).toMatchObject({
          topic: 'release planning',
          archived: true,
          lastSeq: room.lastSeq + 1,
        });
        await rejects(
          engine.sendMessage(owner.id, { roomId: room.id, text: 'after archive' }),
          ForbiddenError,
        );
        expect(await timeline(owner.id, room.id)).toHaveLength(0);
      });
    });

    describe('room rights', () => {
      /** True when the engine does it, false when it refuses as forbidden; anything else fails the test. */
      const allowed = (call: Promise<unknown>) =>
        call.then(
          () => true,
          (caught: unknown) => {
            if (caught instanceof ForbiddenError) return false;
            throw caught;
          },
        );

      it('are what the engine then allows, for owners, moderators, members, guests, admins and outsiders', async () => {
        const owner = await user();
        const people = {
          owner,
          moderator: await user(),
          member: await user(),
          guest: await user('guest'),
          admin: await user('admin'),
          outsider: await user(),
        };
        type Actor = keyof typeof people;
        const actors = Object.keys(people) as Actor[];
        const rooms: {
          label: string;
          room: Room;
          actors: Actor[];
          targets: Map<Actor, Map<MemberRole, string>>;
          /** A message of someone else for each actor to try to delete (moderating). */
          messages: Map<Actor, string>;
        }[] = [];

        for (const kind of ['channel', 'group', 'archived channel', 'archived group'] as const) {
          const room = await engine.createRoom(owner.id, {
            kind: kind.endsWith('channel') ? 'channel' : 'group',
            name: unique('rights'),
            memberIds: [people.moderator.id, people.member.id, people.guest.id],
          });
          await engine.setMemberRole(owner.id, room.id, people.moderator.id, 'moderator');
          // Each actor gets people of every membership role to try to remove.
          const targets = new Map<Actor, Map<MemberRole, string>>();
          for (const actor of actors) {
            const byRole = new Map<MemberRole, string>();
            for (const role of MEMBER_ROLES) {
              const target = await user();
              await engine.inviteToRoom(owner.id, room.id, target.id);
              if (role !== 'member') await engine.setMemberRole(owner.id, room.id, target.id, role);
              byRole.set(role, target.id);
            }
            targets.set(actor, byRole);
          }
          const messages = new Map<Actor, string>();
          for (const actor of actors) {
            const writer = targets.get(actor)?.get('member') ?? owner.id;
            messages.set(
              actor,
              (await engine.sendMessage(writer, { roomId: room.id, text: 'moderate me' })).id,
            );
          }
          if (kind.startsWith('archived')) await engine.updateRoom(owner.id, room.id, { archived: true });
          rooms.push({
            label: kind,
            room: await engine.getRoom(owner.id, room.id),
            actors,
            targets,
            messages,
          });
        }
        const direct = await engine.openDirectRoom(people.member.id, people.moderator.id);
        const directActors: Actor[] = ['member', 'admin', 'outsider'];
        const directMessages = new Map<Actor, string>();
        for (const actor of directActors) {
          const { id } = await engine.sendMessage(people.moderator.id, { roomId: direct.id, text: 'hi' });
          directMessages.set(actor, id);
        }
        rooms.push({
          label: 'direct',
          room: direct,
          actors: directActors,
          targets: new Map([['member', new Map([['member', people.moderator.id]])]]),
          messages: directMessages,
        });

        const compared: string[] = [];
        for (const { label, room, actors: roomActors, targets, messages } of rooms) {
          for (const actor of roomActors) {
            const id = people[actor].id;
            const rights = await engine.roomRights(id, room.id).catch((caught: unknown) => caught);
            if (rights instanceof NotFoundError) {
              // A room the actor may not read has no rights to show: the engine hides it from every action.
              await rejects(engine.updateRoom(id, room.id, { topic: 'hidden' }), NotFoundError);
              compared.push(`${label}/${actor}: unreadable`);
              continue;
            }
            if (rights instanceof Error) throw rights;
            const rightsOf = rights as Awaited<ReturnType<ChatEngine['roomRights']>>;
            const did = {
              rename: await allowed(engine.updateRoom(id, room.id, { topic: `${actor} was here` })),
              changeSettings: await allowed(engine.setRoomSetting(id, room.id, 'contract.rights', actor)),
              invite: await allowed(engine.inviteToRoom(id, room.id, (await user()).id)),
              setRoles: await allowed(
                engine.setMemberRole(id, room.id, targets.get(actor)?.get('member') ?? owner.id, 'member'),
              ),
              removeRoles: [] as MemberRole[],
              moderate: await allowed(engine.deleteMessage(id, messages.get(actor) ?? '')),
              // Archiving (or unarchiving) last, and undone at once, so the room stays as it was.
              manage: await allowed(engine.updateRoom(id, room.id, { archived: !room.archived })),
            };
            if (did.manage) await engine.updateRoom(id, room.id, { archived: room.archived });
            for (const [role, targetId] of targets.get(actor) ?? []) {
              if (await allowed(engine.removeFromRoom(id, room.id, targetId))) did.removeRoles.push(role);
            }
            expect({ label, actor, ...rightsOf }).toEqual({ label, actor, ...did });
            compared.push(`${label}/${actor}`);
          }
        }
        expect(compared).toHaveLength(4 * actors.length + 3);
      });
    });

    describe('messages', () => {
      it('sends messages with mentions parsed from the text', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id, [bob.id]);
        const message = await engine.sendMessage(alice.id, {
          roomId: room.id,
          text: `hi @${bob.username}, @room and @here — not \`@${alice.username}\` nor mail@${bob.username}.com`,
        });
        expect(message.mentions).toEqual({ userIds: [bob.id], room: true, here: true });
        expect(await engine.getMessage(bob.id, message.id)).toEqual(message);
      });

      it('edits by the author only and soft-deletes to a tombstone', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id, [bob.id]);
        const message = await engine.sendMessage(alice.id, { roomId: room.id, text: 'first draft' });
        await rejects(engine.editMessage(bob.id, message.id, { text: 'not mine' }), ForbiddenError);
        const edited = await engine.editMessage(alice.id, message.id, { text: 'second draft' });
        expect(edited.text).toBe('second draft');
        expect(edited.editedAt).not.toBeNull();
        await rejects(engine.deleteMessage(bob.id, message.id), ForbiddenError);
        expect((await engine.getMessage(bob.id, message.id)).text).toBe('second draft');
        const deleted = await engine.deleteMessage(alice.id, message.id);
        expect(deleted).toMatchObject({ id: message.id, text: '', authorId: alice.id });
        expect(deleted.deletedAt).not.toBeNull();
        const [tombstone] = await timeline(bob.id, room.id);
        expect(tombstone).toEqual(deleted);
        await rejects(engine.editMessage(alice.id, message.id, { text: 'back' }), ForbiddenError);
      });

      it('refuses metadata.workflow from senders and editors; only the server names a workflow run', async () => {
        const alice = await user();
        const bot = await user('bot');
        const room = await channel(alice.id, [bot.id]);
        const origin = { workflowId: createId(), runId: createId(), startedBy: alice.id };
        const forged = await rejects(
          engine.sendMessage(bot.id, { roomId: room.id, text: 'forged', metadata: { workflow: origin } }),
          ValidationError,
        );
        expect((forged as ValidationError).issues).toEqual([
          { path: ['metadata.workflow'], message: 'is set by the server, not by clients' },
        ]);
        const own = await engine.sendMessage(bot.id, { roomId: room.id, text: 'plain' });
        await rejects(
          engine.editMessage(bot.id, own.id, { text: 'forged', metadata: { workflow: origin } }),
          ValidationError,
        );
        expect((await timeline(alice.id, room.id)).map((message) => message.metadata)).toEqual([{}]);

        // The workflow runtime passes its run beside the input; an edit with new metadata keeps it.
        const posted = await engine.sendMessage(
          bot.id,
          { roomId: room.id, text: 'done', metadata: { workflowRunId: origin.runId } },
          { workflow: origin },
        );
        expect(posted.metadata).toEqual({ workflowRunId: origin.runId, workflow: origin });
        const edited = await engine.editMessage(bot.id, posted.id, { text: 'done!', metadata: { step: 2 } });
        expect(edited.metadata).toEqual({ step: 2, workflow: origin });
      });

      it('lets room moderators and global moderators delete what others wrote', async () => {
        const owner = await user();
        const author = await user();
        const moderator = await user('moderator');
        const room = await channel(owner.id, [author.id]);
        const one = await engine.sendMessage(author.id, { roomId: room.id, text: 'one' });
        const two = await engine.sendMessage(author.id, { roomId: room.id, text: 'two' });
        expect((await engine.deleteMessage(owner.id, one.id)).deletedAt).not.toBeNull();
        expect((await engine.deleteMessage(moderator.id, two.id)).deletedAt).not.toBeNull();
      });

      it('refuses outsiders without storing anything', async () => {
        const owner = await user();
        const outsider = await user();
        const room = await channel(owner.id);
        const before = (await engine.getRoom(owner.id, room.id)).lastSeq;
        await rejects(
          engine.sendMessage(outsider.id, { roomId: room.id, text: 'let me in' }),
          ForbiddenError,
        );
        await rejects(engine.sendMessage(owner.id, { roomId: room.id, text: '   ' }), ValidationError);
        expect(await timeline(owner.id, room.id)).toHaveLength(0);
        expect((await engine.getRoom(owner.id, room.id)).lastSeq).toBe(before);
      });

      it('keeps reactions per user and emoji, idempotently', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id, [bob.id]);
        const message = await engine.sendMessage(alice.id, { roomId: room.id, text: 'react to me' });
        await engine.addReaction(alice.id, message.id, '👍');
        await engine.addReaction(bob.id, message.id, '👍');
        await engine.addReaction(bob.id, message.id, '👍');
        const withFamily = await engine.addReaction(bob.id, message.id, '👨‍👩‍👧');
        expect(withFamily.reactions).toEqual([
          { emoji: '👍', count: 2, userIds: [alice.id, bob.id] },
          { emoji: '👨‍👩‍👧', count: 1, userIds: [bob.id] },
        ]);
        const removed = await engine.removeReaction(alice.id, message.id, '👍');
        expect(removed.reactions[0]).toEqual({ emoji: '👍', count: 1, userIds: [bob.id] });
        await rejects(engine.addReaction(alice.id, message.id, 'not an emoji'), ValidationError);
      });

      it('threads replies under a root, one level deep', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id, [bob.id]);
        const root = await engine.sendMessage(alice.id, { roomId: room.id, text: 'thread root' });
        const reply = await engine.sendMessage(bob.id, {
          roomId: room.id,
          text: 'reply 1',
          threadRootId: root.id,
        });
        const nested = await engine.sendMessage(alice.id, {
          roomId: room.id,
          text: 'reply 2',
          threadRootId: reply.id,
        });
        expect(nested.threadRootId).toBe(root.id);
        const thread = await engine.history(alice.id, { roomId: room.id, threadRootId: root.id });
        expect(thread.messages.map((m) => m.text)).toEqual(['reply 1', 'reply 2']);
        const main = await timeline(alice.id, room.id);
        expect(main.map((m) => m.text)).toEqual(['thread root']);
        expect(main[0]).toMatchObject({ replyCount: 2 });
        expect(main[0]?.lastReplyAt).not.toBeNull();
        const other = await channel(alice.id);
        await rejects(
          engine.sendMessage(alice.id, { roomId: other.id, text: 'wrong room', threadRootId: root.id }),
          ValidationError,
        );
      });

      it('lets the server itself (SYSTEM_ACTOR) read any room and message, and nobody outside a private room', async () => {
        const alice = await user();
        const mallory = await user();
        const room = await engine.createRoom(alice.id, { kind: 'group', name: unique('plans') });
        const root = await engine.sendMessage(alice.id, { roomId: room.id, text: 'private root' });
        await engine.sendMessage(alice.id, { roomId: room.id, text: 'private reply', threadRootId: root.id });
        const page = await engine.history(SYSTEM_ACTOR, { roomId: room.id });
        expect(page.messages.map((m) => m.text)).toEqual(['private root']);
        const thread = await engine.history(SYSTEM_ACTOR, { roomId: room.id, threadRootId: root.id });
        expect(thread.messages.map((m) => m.text)).toEqual(['private reply']);
        expect((await engine.getMessage(SYSTEM_ACTOR, root.id)).text).toBe('private root');
        await rejects(engine.history(mallory.id, { roomId: room.id }), NotFoundError);
        await rejects(engine.getMessage(mallory.id, root.id), NotFoundError);
      });

      it('round-trips Japanese, emoji, zero-width characters and 64 KiB byte-exact', async () => {
        const alice = await user();
        const room = await channel(alice.id);
        const texts = [
          '会話を始めましょう。東京タワーは３３３ｍです！',
          'family 👨‍👩‍👧‍👦 flag 🇯🇵 skin 👋🏽 math 𝒳 old 𠮷野家',
          'zero\u200bwidth\u200djoiner\ufeffbom and combining e\u0301',
          `${'x'.repeat(MAX_MESSAGE_BYTES - 4)}🎉`,
        ];
        for (const text of texts) {
          const sent = await engine.sendMessage(alice.id, {
            roomId: room.id,
            text,
            metadata: { 言語: 'ja', n: [1, 2] },
          });
          const read = await engine.getMessage(alice.id, sent.id);
          expect(Buffer.from(read.text, 'utf8').equals(Buffer.from(text, 'utf8'))).toBe(true);
          expect(read.metadata).toEqual({ 言語: 'ja', n: [1, 2] });
        }
        expect(Buffer.byteLength(texts[3]!, 'utf8')).toBe(MAX_MESSAGE_BYTES);
        const error = await rejects(
          engine.sendMessage(alice.id, { roomId: room.id, text: 'x'.repeat(MAX_MESSAGE_BYTES + 1) }),
          ValidationError,
        );
        expect((error as ValidationError).issues[0]?.path).toEqual(['text']);
      });
    });

    describe('idempotent sends', () => {
      it('returns the first message for a repeated clientMessageId', async () => {
        const alice = await user();
        const room = await channel(alice.id);
        const first = await engine.sendMessage(alice.id, {
          roomId: room.id,
          text: 'once',
          clientMessageId: 'c-1',
        });
        const again = await engine.sendMessage(alice.id, {
          roomId: room.id,
          text: 'once',
          clientMessageId: 'c-1',
        });
        expect(again).toEqual(first);
        expect(await timeline(alice.id, room.id)).toHaveLength(1);
        // The repeat rolled back inside its transaction: no sequence number taken, no event.
        expect((await engine.getRoom(alice.id, room.id)).lastSeq).toBe(first.seq);
      });

      it('answers a repeat with the first message after the room was left or archived', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id, [bob.id]);
        const other = await channel(alice.id, [bob.id]);
        const bobs = await engine.sendMessage(bob.id, { roomId: room.id, text: 'b', clientMessageId: 'c-2' });
        const alices = await engine.sendMessage(alice.id, {
          roomId: room.id,
          text: 'a',
          clientMessageId: 'c-3',
        });
        // The same key in another room is refused, also where the send itself would be.
        const elsewhere = await rejects(
          engine.sendMessage(bob.id, { roomId: other.id, text: 'b', clientMessageId: 'c-2' }),
          ConflictError,
        );
        expect((elsewhere as ConflictError).field).toBe('clientMessageId');
        await engine.leaveRoom(bob.id, room.id);
        expect(
          await engine.sendMessage(bob.id, { roomId: room.id, text: 'b', clientMessageId: 'c-2' }),
        ).toEqual(bobs);
        await engine.updateRoom(alice.id, room.id, { archived: true });
        expect(
          await engine.sendMessage(alice.id, { roomId: room.id, text: 'a', clientMessageId: 'c-3' }),
        ).toEqual(alices);
        // A new key, or none, is still refused there.
        await rejects(
          engine.sendMessage(alice.id, { roomId: room.id, text: 'a', clientMessageId: 'c-4' }),
          ForbiddenError,
        );
        await rejects(engine.sendMessage(alice.id, { roomId: room.id, text: 'a' }), ForbiddenError);
        await rejects(
          engine.sendMessage(bob.id, { roomId: room.id, text: 'b', clientMessageId: 'c-5' }),
          ForbiddenError,
        );
        expect(await timeline(alice.id, room.id)).toHaveLength(2);
      });

      it('stores one message when two senders race with the same clientMessageId', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id, [bob.id]);
        const before = (await engine.getRoom(alice.id, room.id)).lastSeq;
        const sends = Array.from({ length: 6 }, () =>
          engine.sendMessage(alice.id, { roomId: room.id, text: 'race', clientMessageId: 'same-key' }),
        );
        const results = await Promise.all(sends);
        expect(new Set(results.map((m) => m.id)).size).toBe(1);
        // The same key from another author is another message.
        await engine.sendMessage(bob.id, { roomId: room.id, text: 'race', clientMessageId: 'same-key' });
        expect(await timeline(alice.id, room.id)).toHaveLength(2);
        const events = await engine.eventsSince(alice.id, room.id, before);
        expect(events.map((event) => event.seq)).toEqual([before + 1, before + 2]);
      });
    });

    describe('actor held by the caller', () => {
      it('sends as a User it is given, with the same checks as for an id', async () => {
        const alice = await user();
        const outsider = await user();
        const room = await channel(alice.id);
        const sent = await engine.sendMessage(alice, {
          roomId: room.id,
          text: 'held',
          clientMessageId: 'h-1',
        });
        expect(sent.authorId).toBe(alice.id);
        expect(
          await engine.sendMessage(alice.id, { roomId: room.id, text: 'held', clientMessageId: 'h-1' }),
        ).toEqual(sent);
        await rejects(
          engine.sendMessage(outsider, { roomId: room.id, text: 'not a member' }),
          ForbiddenError,
        );
        const deactivated = { ...alice, deactivatedAt: new Date().toISOString() };
        await rejects(engine.sendMessage(deactivated, { roomId: room.id, text: 'gone' }), ForbiddenError);
        await rejects(
          engine.sendMessage({ ...alice, id: 'not-an-id' }, { roomId: room.id, text: 'x' }),
          ValidationError,
        );
        expect(await timeline(alice.id, room.id)).toHaveLength(1);
      });
    });

    describe('group commit', () => {
      it('commits concurrent changes to several rooms together, gap-free, and rolls back only what failed', async () => {
        const alice = await user();
        const bob = await user();
        const first = await channel(alice.id, [bob.id]);
        const second = await channel(alice.id, [bob.id]);
        const target = await engine.sendMessage(alice.id, { roomId: first.id, text: 'react here' });
        const changes = await Promise.allSettled([
          ...Array.from({ length: 10 }, (_, i) =>
            engine.sendMessage(alice.id, { roomId: first.id, text: `a${i}` }),
          ),
          ...Array.from({ length: 10 }, (_, i) =>
            engine.sendMessage(bob.id, { roomId: second.id, text: `b${i}` }),
          ),
          ...Array.from({ length: 3 }, () =>
            engine.sendMessage(bob.id, { roomId: first.id, text: 'once', clientMessageId: 'group-commit' }),
          ),
          engine.addReaction(bob.id, target.id, '👀'),
          engine.addReaction(bob.id, target.id, '👀'),
          engine.editMessage(bob.id, target.id, { text: 'not my message' }),
        ]);
        expect(changes.filter((change) => change.status === 'rejected')).toHaveLength(1);
        for (const room of [first, second]) {
          const stored = await engine.eventsSince(alice.id, room.id, 0);
          expect(stored.map((event) => event.seq)).toEqual(stored.map((_, i) => i + 1));
          expect((await engine.getRoom(alice.id, room.id)).lastSeq).toBe(stored.length);
        }
        expect(await timeline(alice.id, first.id)).toHaveLength(12);
        expect(await timeline(alice.id, second.id)).toHaveLength(10);
        expect((await engine.getMessage(alice.id, target.id)).reactions).toEqual([
          { emoji: '👀', count: 1, userIds: [bob.id] },
        ]);
      });
    });

    describe('history pagination', () => {
      it('pages backwards and forwards without gaps or repeats while messages arrive', async () => {
        const alice = await user();
        const room = await channel(alice.id);
        const sent: Message[] = [];
        for (let i = 0; i < 75; i++)
          sent.push(await engine.sendMessage(alice.id, { roomId: room.id, text: `m${i}` }));

        const seen: string[] = [];
        let page = await engine.history(alice.id, { roomId: room.id, limit: 20 });
        seen.unshift(...page.messages.map((m) => m.text));
        let arrivals = 0;
        while (page.hasMore) {
          // New messages land at the head; a backwards walk is not disturbed by them.
          await engine.sendMessage(alice.id, { roomId: room.id, text: `late${arrivals++}` });
          page = await engine.history(alice.id, { roomId: room.id, limit: 20, before: page.messages[0]!.id });
          seen.unshift(...page.messages.map((m) => m.text));
        }
        expect(seen).toEqual(sent.map((m) => m.text));

        const forward: string[] = [];
        let cursor = sent[9]!.id;
        for (;;) {
          const next = await engine.history(alice.id, { roomId: room.id, limit: 25, after: cursor });
          forward.push(...next.messages.map((m) => m.text));
          if (!next.hasMore) break;
          cursor = next.messages.at(-1)!.id;
        }
        expect(forward).toEqual([
          ...sent.slice(10).map((m) => m.text),
          ...Array.from({ length: arrivals }, (_, i) => `late${i}`),
        ]);
        await rejects(
          engine.history(alice.id, { roomId: room.id, before: sent[1]!.id, after: sent[0]!.id }),
          ValidationError,
        );
      });
    });

    describe('search', () => {
      it('finds words and Japanese substrings in rooms the reader may read, never deleted ones', async () => {
        const alice = await user();
        const bob = await user();
        const guest = await user('guest');
        const shared = await channel(alice.id, [bob.id, guest.id]);
        const publicRoom = await channel(alice.id);
        const secret = await engine.createRoom(alice.id, { kind: 'group', name: unique('secret') });
        const tag = unique('deploy').replace('-', '');
        const hit = await engine.sendMessage(alice.id, { roomId: shared.id, text: `The ${tag} went fine` });
        const japanese = await engine.sendMessage(alice.id, {
          roomId: shared.id,
          text: `明日は${tag}東京タワーに行きます`,
        });
        const inPublic = await engine.sendMessage(alice.id, {
          roomId: publicRoom.id,
          text: `${tag} in public`,
        });
        await engine.sendMessage(alice.id, { roomId: secret.id, text: `${tag} in secret` });
        const gone = await engine.sendMessage(alice.id, { roomId: shared.id, text: `${tag} to be deleted` });
        await engine.deleteMessage(alice.id, gone.id);

        const ids = async (actorId: string, query: string, roomId?: string) =>
          (await engine.search(actorId, { query, ...(roomId ? { roomId } : {}) })).map((m) => m.id).sort();
        expect(await ids(bob.id, tag)).toEqual([hit.id, japanese.id, inPublic.id].sort());
        expect(await ids(bob.id, tag, shared.id)).toEqual([hit.id, japanese.id].sort());
        expect(await ids(guest.id, tag)).toEqual([hit.id, japanese.id].sort());
        expect(await ids(alice.id, tag)).toHaveLength(4);
        expect(await ids(bob.id, '東京タワー')).toContain(japanese.id);
        expect(await ids(bob.id, 'タワ')).toContain(japanese.id);
        expect(await ids(bob.id, '東京タワー', shared.id)).toEqual([japanese.id]);
        expect(await ids(bob.id, `${tag} fine`)).toEqual([hit.id]);
        expect(await ids(bob.id, `${tag} 大阪`)).toEqual([]);
        await rejects(engine.search(bob.id, { query: tag, roomId: secret.id }), NotFoundError);
      });
    });

    describe('voice message transcripts', () => {
      it('records pending, done and failed transcripts live, finds their words, and lets only the server write them', async () => {
        const alice = await user();
        const bob = await user();
        const mod = await user();
        const room = await channel(alice.id, [bob.id, mod.id]);
        await engine.setMemberRole(alice.id, room.id, mod.id, 'moderator');
        const audio = await engine.createFileRecord(alice.id, {
          name: 'note.webm',
          mimeType: 'audio/webm',
          size: 2048,
          sha256: 'a'.repeat(64),
          storageKey: `blobs/${unique('voice')}`,
          roomId: room.id,
        });
        const voice = await engine.sendMessage(alice.id, {
          roomId: room.id,
          text: '🎤 voice message',
          attachmentIds: [audio.id],
        });
        const plain = await engine.sendMessage(alice.id, { roomId: room.id, text: 'no audio here' });
        const word = unique('zebra').replace('-', '');

        const claimed = await engine.recordTranscript(
          SYSTEM_ACTOR,
          voice.id,
          { status: 'pending' },
          { onlyIfAbsent: true },
        );
        expect(claimed?.metadata.transcript).toMatchObject({ status: 'pending' });
        expect(
          await engine.recordTranscript(
            SYSTEM_ACTOR,
            voice.id,
            { status: 'pending' },
            { onlyIfAbsent: true },
          ),
        ).toBeUndefined();
        const search = async (query: string) =>
          (await engine.search(bob.id, { query, roomId: room.id })).map((m) => m.id);
        expect(await search(word)).toEqual([]);

        const done = await engine.recordTranscript(SYSTEM_ACTOR, voice.id, {
          status: 'done',
          text: `the ${word} crossed the road`,
          language: 'en',
          segments: [{ start: 0.1, end: 1.8, text: `the ${word} crossed the road` }],
          provider: 'pocketsphinx',
        });
        expect(transcriptOf(done!)).toMatchObject({
          status: 'done',
          language: 'en',
          provider: 'pocketsphinx',
        });
        const transcriptEvents = events.flatMap((event) =>
          event.type === 'message.updated' && event.payload.message.id === voice.id
            ? [transcriptOf(event.payload.message)?.status]
            : [],
        );
        expect(transcriptEvents).toEqual(['pending', 'done']);
        expect(await search(word)).toEqual([voice.id]);
        expect(await search(`${word} voice`)).toEqual([voice.id]);
        // Resuming clients read the same changes from the room's events.
        const resumed = await engine.eventsSince(bob.id, room.id, voice.seq);
        expect(resumed.filter((event) => event.type === 'message.updated')).toHaveLength(2);

        // The author's edit keeps the server's transcript (and its words stay findable).
        await engine.editMessage(alice.id, voice.id, {
          text: '🎤 voice message (edited)',
          metadata: { mood: 'calm' },
        });
        const edited = await engine.getMessage(bob.id, voice.id);
        expect(edited.metadata).toMatchObject({ mood: 'calm', transcript: { status: 'done' } });
        expect(await search(word)).toEqual([voice.id]);

        // Only the server writes transcripts; clients cannot smuggle one in.
        await rejects(
          engine.recordTranscript(alice.id as never, voice.id, { status: 'pending' }),
          ForbiddenError,
        );
        await rejects(
          engine.sendMessage(alice.id, {
            roomId: room.id,
            text: 'fake',
            metadata: { transcript: { status: 'done', text: 'x' } },
          }),
          ValidationError,
        );
        await rejects(
          engine.recordTranscript(SYSTEM_ACTOR, plain.id, { status: 'pending' }),
          ValidationError,
        );
        await rejects(
          engine.recordTranscript(SYSTEM_ACTOR, voice.id, { status: 'failed' } as never),
          ValidationError,
        );

        // A retry: the author and moderators may ask, other members may not.
        await rejects(engine.requestTranscript(bob.id, voice.id), ForbiddenError);
        expect(transcriptOf(await engine.requestTranscript(mod.id, voice.id))?.status).toBe('pending');
        expect(await search(word)).toEqual([]);
        const failed = await engine.recordTranscript(SYSTEM_ACTOR, voice.id, {
          status: 'failed',
          error: 'the audio is not audio Kaiwa can read',
          code: 'unsupported_audio',
        });
        expect(transcriptOf(failed!)).toMatchObject({ status: 'failed', code: 'unsupported_audio' });
        expect(transcriptOf(await engine.requestTranscript(alice.id, voice.id))?.status).toBe('pending');

        // A deleted voice message takes its transcript with it.
        await engine.recordTranscript(SYSTEM_ACTOR, voice.id, { status: 'done', text: `${word} again` });
        await engine.deleteMessage(alice.id, voice.id);
        expect(await search(word)).toEqual([]);
        await rejects(engine.recordTranscript(SYSTEM_ACTOR, voice.id, { status: 'pending' }), ForbiddenError);
      });
    });

    describe('read markers', () => {
      it('counts unread messages per room and moves the marker both ways', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id, [bob.id]);
        const sent: Message[] = [];
        for (const text of ['a', 'b', 'c'])
          sent.push(await engine.sendMessage(alice.id, { roomId: room.id, text }));
        await engine.sendMessage(bob.id, { roomId: room.id, text: 'own messages are never unread' });
        expect((await engine.unreadCounts(bob.id))[room.id]).toBe(3);
        expect((await engine.unreadCounts(alice.id))[room.id]).toBe(1);
        await engine.markRead(bob.id, room.id);
        expect((await engine.unreadCounts(bob.id))[room.id]).toBe(0);
        await engine.markRead(bob.id, room.id, sent[0]!.id);
        expect((await engine.unreadCounts(bob.id))[room.id]).toBe(2);
        const outsider = await user();
        await rejects(engine.markRead(outsider.id, room.id), ForbiddenError);
      });

      it('counts every room in one listing, each from its own marker', async () => {
        const alice = await user();
        const bob = await user();
        const rooms = [
          await channel(alice.id, [bob.id]),
          await channel(alice.id, [bob.id]),
          await channel(bob.id),
        ];
        for (const [index, room] of rooms.slice(0, 2).entries()) {
          for (let count = 0; count <= index; count++) {
            await engine.sendMessage(alice.id, { roomId: room.id, text: `m${count}` });
          }
        }
        await engine.markRead(bob.id, rooms[1]!.id);
        await engine.sendMessage(alice.id, { roomId: rooms[1]!.id, text: 'after the marker' });
        const listed = new Map((await engine.listRooms(bob.id)).map((summary) => [summary.room.id, summary]));
        expect(rooms.map((room) => listed.get(room.id)?.unreadCount)).toEqual([1, 1, 0]);
      });

      it("keeps each member's own favourites, notification level and mute, unseen by others", async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id, [bob.id]);
        const fresh = (await engine.listRooms(bob.id)).find((summary) => summary.room.id === room.id);
        expect(fresh?.preferences).toEqual({ favourite: false, notify: 'default' });
        const seqBefore = (await engine.getRoom(alice.id, room.id)).lastSeq;

        const changed = await engine.setRoomPreferences(bob.id, room.id, {
          favourite: true,
          notify: 'mentions',
        });
        expect(changed.preferences).toEqual({ favourite: true, notify: 'mentions' });
        const muted = await engine.setRoomPreferences(bob.id, room.id, { muted: true });
        expect(muted).toMatchObject({ preferences: { favourite: true, notify: 'mentions' } });
        expect(muted.membership.muted).toBe(true);

        const listed = (await engine.listRooms(bob.id)).find((summary) => summary.room.id === room.id);
        expect(listed?.preferences).toEqual({ favourite: true, notify: 'mentions' });
        expect(listed?.membership.muted).toBe(true);
        const alicesView = (await engine.listRooms(alice.id)).find((summary) => summary.room.id === room.id);
        expect(alicesView?.preferences).toEqual({ favourite: false, notify: 'default' });
        expect(alicesView?.membership.muted).toBe(false);
        // Personal: no room event, the room's sequence is unchanged.
        expect((await engine.getRoom(alice.id, room.id)).lastSeq).toBe(seqBefore);
      });

      it('refuses preferences for a room the actor is not in, and bad values by field', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id);
        await rejects(engine.setRoomPreferences(bob.id, room.id, { favourite: true }), NotFoundError);
        const bad = await rejects(
          engine.setRoomPreferences(alice.id, room.id, { notify: 'loud' as never }),
          ValidationError,
        );
        expect((bad as ValidationError).issues[0]?.path).toEqual(['notify']);
        await rejects(
          engine.setRoomPreferences(alice.id, room.id, { colour: 'red' } as never),
          ValidationError,
        );
        expect((await engine.setRoomPreferences(alice.id, room.id, {})).preferences).toEqual({
          favourite: false,
          notify: 'default',
        });
      });
    });

    describe('room events', () => {
      it('stores every change with a gap-free sequence and announces it', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id);
        await engine.joinRoom(bob.id, room.id);
        const message = await engine.sendMessage(bob.id, { roomId: room.id, text: 'hello' });
        await engine.editMessage(bob.id, message.id, { text: 'hello, edited' });
        await engine.addReaction(alice.id, message.id, ':tada:');
        await engine.removeReaction(alice.id, message.id, ':tada:');
        await engine.deleteMessage(bob.id, message.id);
        const promoted = await engine.setMemberRole(alice.id, room.id, bob.id, 'moderator');
        expect(promoted).toMatchObject({ userId: bob.id, role: 'moderator' });
        await engine.leaveRoom(bob.id, room.id);
        const stored = await engine.eventsSince(alice.id, room.id, 0);
        expect(stored.map((event) => [event.seq, event.type])).toEqual([
          [1, 'member.joined'],
          [2, 'message.created'],
          [3, 'message.updated'],
          [4, 'reaction.added'],
          [5, 'reaction.removed'],
          [6, 'message.deleted'],
          [7, 'member.updated'],
          [8, 'member.left'],
        ]);
        expect(stored[6]).toMatchObject({ payload: { membership: { userId: bob.id, role: 'moderator' } } });
        expect((await engine.eventsSince(alice.id, room.id, 5)).map((event) => event.seq)).toEqual([6, 7, 8]);
        const announced = events.filter((event) => 'roomId' in event && event.roomId === room.id);
        expect(announced).toEqual(stored);
        expect((await engine.getRoom(alice.id, room.id)).lastSeq).toBe(8);
      });
    });

    describe('room settings', () => {
      it('keeps JSON settings per room and key, replaces them, and lists them by key', async () => {
        const alice = await user();
        const first = await channel(alice.id);
        const second = await channel(alice.id);
        const key = unique('feature');
        const at = new Date().toISOString();
        expect(await store.roomSettings.get(first.id, key)).toBeUndefined();
        await store.roomSettings.set(first.id, key, { prompt: 'あなたは誠実です 🌸', n: 1 }, at);
        await store.roomSettings.set(first.id, key, { prompt: '置き換え', n: 2 }, at);
        await store.roomSettings.set(second.id, key, ['a', null], at);
        expect(await store.roomSettings.get(first.id, key)).toEqual({ prompt: '置き換え', n: 2 });
        expect(await store.roomSettings.listByKey(key)).toEqual(
          [
            { roomId: first.id, value: { prompt: '置き換え', n: 2 } },
            { roomId: second.id, value: ['a', null] },
          ].sort((a, b) => (a.roomId < b.roomId ? -1 : 1)),
        );
        await store.roomSettings.delete(second.id, key);
        expect(await store.roomSettings.listByKey(key)).toHaveLength(1);
      });

      it('inserts a setting only when absent: of racing claims exactly one wins, the value stays', async () => {
        const alice = await user();
        const room = await channel(alice.id);
        const key = unique('claim');
        const at = new Date().toISOString();
        const outcomes = await Promise.all(
          Array.from({ length: 5 }, (_, index) =>
            store.roomSettings.insertIfAbsent(room.id, key, { claimant: index }, at),
          ),
        );
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const winner = outcomes.indexOf(true);
        expect(await store.roomSettings.get(room.id, key)).toEqual({ claimant: winner });
        expect(await store.roomSettings.insertIfAbsent(room.id, key, { claimant: 'late' }, at)).toBe(false);
        expect(await store.roomSettings.get(room.id, key)).toEqual({ claimant: winner });
        // A room that does not exist is an error, not a lost race.
        await expect(store.roomSettings.insertIfAbsent('no-such-room', key, 1, at)).rejects.toThrow();
      });

      it('lets the owner and admins change settings through the engine, and members keep personal ones', async () => {
        const owner = await user();
        const member = await user();
        const admin = await user('admin');
        const room = await channel(owner.id, [member.id]);
        const key = unique('assistant');
        const seen = events.length;
        await engine.setRoomSetting(owner.id, room.id, key, { preset: 'elyza' });
        expect(await engine.getRoomSetting(member.id, room.id, key)).toEqual({ preset: 'elyza' });
        expect(events.slice(seen)).toContainEqual({
          type: 'room.settings.updated',
          payload: { roomId: room.id, key },
        });
        await rejects(engine.setRoomSetting(member.id, room.id, key, { preset: 'none' }), ForbiddenError);
        await engine.setRoomSetting(admin.id, room.id, key, { preset: 'none' });
        expect(await engine.getRoomSetting(SYSTEM_ACTOR, room.id, key)).toEqual({ preset: 'none' });
        expect(await engine.listRoomSettings(SYSTEM_ACTOR, key)).toEqual([
          { roomId: room.id, value: { preset: 'none' } },
        ]);
        await rejects(
          engine.listRoomSettings(owner.id as unknown as typeof SYSTEM_ACTOR, key),
          ForbiddenError,
        );

        // Personal state: the member's own key, stored quietly; someone else's key is refused.
        const cursor = `cursor:${member.id}:${unique('bot')}`;
        const quiet = events.length;
        await engine.setRoomSetting(member.id, room.id, cursor, 42);
        expect(await engine.getRoomSetting(member.id, room.id, cursor)).toBe(42);
        expect(events.slice(quiet).filter((event) => event.type === 'room.settings.updated')).toEqual([]);
        await rejects(engine.setRoomSetting(owner.id, room.id, `cursor:${member.id}:x`, 1), ForbiddenError);
        const claim = `claim:${member.id}:${unique('question')}`;
        expect(await engine.claimRoomSetting(member.id, room.id, claim, { at: 1 })).toBe(true);
        expect(await engine.claimRoomSetting(member.id, room.id, claim, { at: 2 })).toBe(false);
        await rejects(engine.claimRoomSetting(owner.id, room.id, claim, { at: 3 }), ForbiddenError);

        // A private group's settings are invisible to outsiders.
        const group = await engine.createRoom(owner.id, { kind: 'group', name: unique('group') });
        await rejects(engine.getRoomSetting(member.id, group.id, key), NotFoundError);
        await rejects(engine.setRoomSetting(member.id, group.id, key, 1), NotFoundError);
        await rejects(engine.setRoomSetting(owner.id, room.id, '', 1), ValidationError);
      });
    });

    describe('announcements', () => {
      it('announces typing and presence only about the actor, typing only in rooms the actor reads', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id, [bob.id]);
        const group = await engine.createRoom(alice.id, { kind: 'group', name: unique('group') });
        const heard: ChatEvent[] = [];
        const stop = engine.subscribe((event) => heard.push(event));
        try {
          await engine.publishEphemeral(bob.id, {
            type: 'typing.updated',
            payload: { roomId: room.id, userId: bob.id, typing: true },
          });
          await engine.publishEphemeral(bob.id, {
            type: 'presence.updated',
            payload: { userId: bob.id, status: 'away' },
          });
          await rejects(
            engine.publishEphemeral(bob.id, {
              type: 'typing.updated',
              payload: { roomId: room.id, userId: alice.id, typing: true },
            }),
            ForbiddenError,
          );
          await rejects(
            engine.publishEphemeral(bob.id, {
              type: 'typing.updated',
              payload: { roomId: group.id, userId: bob.id, typing: true },
            }),
            NotFoundError,
          );
          expect(heard.map((event) => event.type)).toEqual(['typing.updated', 'presence.updated']);

          // A streamed reply: checked once when it opens, in a room the actor posts in.
          const question = await engine.sendMessage(alice.id, { roomId: room.id, text: 'question?' });
          await rejects(
            engine.openReplyStream(bob.id, { roomId: group.id, replyToId: question.id, threadRootId: null }),
            NotFoundError,
          );
          const reply = await engine.openReplyStream(bob.id, {
            roomId: room.id,
            replyToId: question.id,
            threadRootId: null,
          });
          await reply.publish('an', false);
          await reply.publish('', true);
          const deltas = heard.filter((event) => event.type === 'message.delta');
          expect(deltas.map((event) => event.payload)).toEqual([
            {
              roomId: room.id,
              streamId: reply.streamId,
              replyToId: question.id,
              threadRootId: null,
              authorId: bob.id,
              delta: 'an',
              done: false,
            },
            {
              roomId: room.id,
              streamId: reply.streamId,
              replyToId: question.id,
              threadRootId: null,
              authorId: bob.id,
              delta: '',
              done: true,
            },
          ]);
        } finally {
          stop();
        }
      });

      it('finds memberships only in rooms the actor reads', async () => {
        const alice = await user();
        const bob = await user();
        const room = await channel(alice.id);
        expect(await engine.findMembership(bob.id, room.id)).toBeUndefined();
        expect(await engine.findMembership(bob.id, room.id, alice.id)).toMatchObject({ role: 'owner' });
        const group = await engine.createRoom(alice.id, { kind: 'group', name: unique('group') });
        await rejects(engine.findMembership(bob.id, group.id, alice.id), NotFoundError);
        expect((await engine.getUsers([alice.id, bob.id, createId()])).map((each) => each.id).sort()).toEqual(
          [alice.id, bob.id].sort(),
        );
      });
    });

    describe('projects, tickets and files', () => {
      it('keeps projects and tickets with their permissions and filters', async () => {
        const owner = await user();
        const dev = await user();
        const stranger = await user();
        const guest = await user('guest');
        const project = await engine.createProject(owner.id, {
          name: 'Kaiwa 1.0',
          description: '最初のリリース',
        });
        expect(await engine.getProject(dev.id, project.id)).toEqual(project);
        await rejects(engine.createProject(guest.id, { name: 'nope' }), ForbiddenError);
        await rejects(engine.updateProject(stranger.id, project.id, { status: 'on_hold' }), ForbiddenError);
        expect((await engine.getProject(owner.id, project.id)).status).toBe('active');
        const held = await engine.updateProject(owner.id, project.id, { status: 'on_hold' });
        expect(await engine.listProjects(dev.id, { status: 'on_hold', ownerId: owner.id })).toEqual([held]);

        const urgent = await engine.createTicket(dev.id, {
          projectId: project.id,
          title: 'Crash on start',
          priority: 'urgent',
          assigneeId: dev.id,
          dueDate: '2026-12-01',
          labels: ['bug', 'バグ', 'bug'],
        });
        expect(urgent.labels).toEqual(['bug', 'バグ']);
        const later = await engine.createTicket(owner.id, {
          projectId: project.id,
          title: 'Docs',
          dueDate: '2027-03-01',
        });
        expect(await engine.getTicket(owner.id, urgent.id)).toEqual(urgent);
        const list = (query: Parameters<ChatEngine['listTickets']>[1]) =>
          engine.listTickets(owner.id, query).then((tickets) => tickets.map((t) => t.id));
        expect(await list({ projectId: project.id })).toEqual([urgent.id, later.id]);
        expect(await list({ projectId: project.id, priority: 'urgent' })).toEqual([urgent.id]);
        expect(await list({ assigneeId: dev.id })).toEqual([urgent.id]);
        expect(await list({ projectId: project.id, dueBefore: '2027-01-01' })).toEqual([urgent.id]);
        await rejects(engine.updateTicket(stranger.id, later.id, { status: 'done' }), ForbiddenError);
        expect((await engine.getTicket(owner.id, later.id)).status).toBe('open');
        const done = await engine.updateTicket(dev.id, urgent.id, { status: 'done', assigneeId: null });
        expect(await engine.getTicket(owner.id, urgent.id)).toEqual(done);
        expect(await list({ projectId: project.id, status: 'done' })).toEqual([urgent.id]);
        const missing = await rejects(
          engine.createTicket(owner.id, {
            projectId: project.id,
            title: 'x',
            assigneeId: createId(),
          }),
          ValidationError,
        );
        expect((missing as ValidationError).issues[0]?.path).toEqual(['assigneeId']);
        await rejects(engine.listTickets(guest.id, {}), ForbiddenError);
      });

      it('finds the oldest ticket of a project by an exact label', async () => {
        const owner = await user();
        const project = await engine.createProject(owner.id, { name: 'Labels' });
        const other = await engine.createProject(owner.id, { name: 'Other labels' });
        const key = 'workflow-0123abcd';
        const first = await engine.createTicket(owner.id, {
          projectId: project.id,
          title: 'a',
          labels: [key],
        });
        await engine.createTicket(owner.id, { projectId: project.id, title: 'b', labels: ['x', key] });
        const lookalikes = [
          'Workflow-0123ABCD',
          'workflow_0123abcd',
          `${key}-2`,
          `"${key}"`,
          'workflow-0123abc%',
        ];
        const near = await engine.createTicket(owner.id, {
          projectId: project.id,
          title: 'c',
          labels: lookalikes,
        });
        await engine.createTicket(owner.id, { projectId: other.id, title: 'd', labels: ['only-elsewhere'] });
        expect(await store.tickets.findByLabel(project.id, key)).toEqual(first);
        for (const label of lookalikes)
          expect(await store.tickets.findByLabel(project.id, label)).toEqual(near);
        expect(await store.tickets.findByLabel(project.id, 'workflow-0123abc')).toBeUndefined();
        expect(await store.tickets.findByLabel(project.id, 'only-elsewhere')).toBeUndefined();
        expect(await store.tickets.findByLabel(other.id, 'only-elsewhere')).toMatchObject({ title: 'd' });
      });

      it('records files for rooms, projects and tickets and attaches them to messages', async () => {
        const alice = await user();
        const outsider = await user();
        const room = await engine.createRoom(alice.id, { kind: 'group', name: unique('files') });
        const project = await engine.createProject(alice.id, { name: 'Files' });
        const ticket = await engine.createTicket(alice.id, { projectId: project.id, title: 'Scan' });
        const digest = 'a'.repeat(64);
        const photo = await engine.createFileRecord(alice.id, {
          name: '写真 1.png',
          mimeType: 'image/png',
          size: 1234,
          sha256: digest,
          storageKey: 'blobs/1',
          roomId: room.id,
        });
        const scan = await engine.createFileRecord(alice.id, {
          name: 'scan.pdf',
          mimeType: 'application/pdf',
          size: 99,
          sha256: digest,
          storageKey: 'blobs/2',
          projectId: project.id,
          ticketId: ticket.id,
        });
        expect(await engine.getFileRecord(alice.id, photo.id)).toEqual(photo);
        await rejects(engine.getFileRecord(outsider.id, photo.id), NotFoundError);
        expect(await engine.getFileRecord(outsider.id, scan.id)).toEqual(scan);
        expect(await engine.listFiles(alice.id, { roomId: room.id, mimeType: 'image/*' })).toEqual([photo]);
        expect(await engine.listFiles(alice.id, { ticketId: ticket.id })).toEqual([scan]);
        expect(await engine.listFiles(alice.id, { projectId: project.id, mimeType: 'image/*' })).toEqual([]);
        await rejects(
          engine.createFileRecord(outsider.id, {
            name: 'intruder.png',
            mimeType: 'image/png',
            size: 1,
            sha256: digest,
            storageKey: 'blobs/3',
            roomId: room.id,
          }),
          NotFoundError,
        );
        const error = await rejects(
          engine.createFileRecord(alice.id, {
            name: '../etc/passwd',
            mimeType: 'text/plain',
            size: 1,
            sha256: digest,
            storageKey: 'k',
            roomId: room.id,
          }),
          ValidationError,
        );
        expect((error as ValidationError).issues[0]?.path).toEqual(['name']);

        const message = await engine.sendMessage(alice.id, {
          roomId: room.id,
          text: 'see photo',
          attachmentIds: [photo.id],
        });
        expect(message.attachments).toEqual([
          { fileId: photo.id, name: '写真 1.png', mimeType: 'image/png', size: 1234 },
        ]);
        expect((await engine.getMessage(alice.id, message.id)).attachments).toEqual(message.attachments);
        const wrong = await rejects(
          engine.sendMessage(alice.id, { roomId: room.id, text: 'x', attachmentIds: [scan.id] }),
          ValidationError,
        );
        expect((wrong as ValidationError).issues[0]?.path).toEqual(['attachmentIds', 0]);

        await rejects(engine.deleteFileRecord(outsider.id, scan.id), ForbiddenError);
        await engine.deleteFileRecord(alice.id, scan.id);
        await rejects(engine.getFileRecord(alice.id, scan.id), NotFoundError);
      });
    });
  });
}
