import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect } from 'vitest';
import { createId } from '../../ids.js';
import type { ChatStorage, StoredMessage } from '../../ports/chat-store.js';
import { MAX_MESSAGE_BYTES } from '../../schemas/message.js';
import type { Room } from '../../schemas/room.js';
import type { RoomEvent } from '../../schemas/room-event.js';
import type { User } from '../../schemas/user.js';
import {
  conflictField,
  gate,
  membershipFixture,
  messageFixture,
  now,
  pause,
  type RepositorySuite,
  roomFixture,
  unique,
  userFixture,
} from './support.js';

/** The tests of {@link messageRepositoryTests}, by the key `skipTests` takes. */
export type MessageRepositoryTest =
  | 'messages-round-trip'
  | 'messages-page'
  | 'messages-edit-delete-replies'
  | 'messages-count-unread'
  | 'messages-count-unread-mentions'
  | 'messages-count-unread-mentions-in-room'
  | 'messages-unique'
  | 'messages-duplicate'
  | 'messages-duplicate-in-transaction'
  | 'messages-concurrent-duplicate'
  | 'messages-concurrent-rollback'
  | 'text-byte-exact'
  | 'reactions-distinct-emoji'
  | 'reactions-add-remove'
  | 'search-words'
  | 'search-japanese'
  | 'search-no-terms'
  | 'search-visibility'
  | 'search-order'
  | 'search-follows-edits'
  | 'transaction-rollback'
  | 'transaction-commit'
  | 'room-events';

/**
 * Messages, reactions, search, transactions and room events: every field round-trips byte for byte,
 * pages and unread counts follow the cursors, a repeated client message id is a duplicate (also between
 * concurrent transactions), search finds what the reader may read in English and Japanese, and a
 * transaction that throws writes nothing, search index included.
 */
export function messageRepositoryTests(suite: RepositorySuite<MessageRepositoryTest, ChatStorage>): void {
  const { store, test, newUser, newRoom, newMessage } = suite;

  describe('messages', () => {
    test(
      'messages-round-trip',
      'round-trips every field and finds messages by id and client message id',
      async () => {
        const alice = await newUser();
        const bob = await newUser();
        const room = await newRoom(alice.id);
        const fileId = createId();
        const message = await newMessage(room.id, alice.id, {
          text: `hi @${bob.username} 👋`,
          mentions: { userIds: [bob.id], room: true, here: false },
          replyToId: createId(),
          attachments: [{ fileId, name: '写真.png', mimeType: 'image/png', size: 1234 }],
          clientMessageId: 'client-1',
          metadata: { 言語: 'ja', nested: { list: [1, 'two', null, true] } },
        });
        const expected = { ...message, reactions: [] };
        expect(await store.messages.findById(message.id)).toEqual(expected);
        expect(await store.messages.findById(createId())).toBeUndefined();
        expect(await store.messages.findByClientMessageId(alice.id, 'client-1')).toEqual(expected);
        expect(await store.messages.findByClientMessageId(bob.id, 'client-1')).toBeUndefined();
        expect(await store.messages.findByClientMessageId(alice.id, 'CLIENT-1')).toBeUndefined();
        const second = await newMessage(room.id, bob.id);
        expect(
          (await store.messages.findByIds([second.id, createId(), message.id])).map((m) => m.id),
        ).toEqual([message.id, second.id]);
        expect(await store.messages.findByIds([])).toEqual([]);
      },
    );

    test('messages-page', 'pages the timeline and threads backwards and forwards', async () => {
      const alice = await newUser();
      const room = await newRoom(alice.id);
      const timeline: StoredMessage[] = [];
      for (let i = 0; i < 7; i++) timeline.push(await newMessage(room.id, alice.id, { text: `m${i}` }));
      const root = timeline[2]!;
      const replies: StoredMessage[] = [];
      for (let i = 0; i < 3; i++) {
        replies.push(await newMessage(room.id, alice.id, { text: `r${i}`, threadRootId: root.id }));
      }
      const texts = (messages: { text: string }[]) => messages.map((message) => message.text);

      expect(texts(await store.messages.page({ roomId: room.id, limit: 3 }))).toEqual(['m6', 'm5', 'm4']);
      expect(
        texts(await store.messages.page({ roomId: room.id, before: timeline[4]!.id, limit: 3 })),
      ).toEqual(['m3', 'm2', 'm1']);
      expect(
        texts(await store.messages.page({ roomId: room.id, before: timeline[1]!.id, limit: 3 })),
      ).toEqual(['m0']);
      expect(texts(await store.messages.page({ roomId: room.id, after: timeline[1]!.id, limit: 3 }))).toEqual(
        ['m2', 'm3', 'm4'],
      );
      expect(texts(await store.messages.page({ roomId: room.id, after: timeline[6]!.id, limit: 3 }))).toEqual(
        [],
      );
      expect(texts(await store.messages.page({ roomId: room.id, threadRootId: root.id, limit: 10 }))).toEqual(
        ['r2', 'r1', 'r0'],
      );
      expect(
        texts(
          await store.messages.page({
            roomId: room.id,
            threadRootId: root.id,
            after: replies[0]!.id,
            limit: 10,
          }),
        ),
      ).toEqual(['r1', 'r2']);
      expect(await store.messages.page({ roomId: createId(), limit: 10 })).toEqual([]);
    });

    test('messages-edit-delete-replies', 'edits, soft-deletes and counts replies', async () => {
      const alice = await newUser();
      const room = await newRoom(alice.id);
      const message = await newMessage(room.id, alice.id, { text: 'draft' });
      const editedAt = now();
      await store.messages.update(message.id, {
        text: 'final ✅',
        mentions: { userIds: [alice.id], room: false, here: true },
        attachments: [{ fileId: createId(), name: 'a.txt', mimeType: 'text/plain', size: 1 }],
        metadata: { edited: true },
        editedAt,
      });
      const edited = await store.messages.findById(message.id);
      expect(edited).toMatchObject({ text: 'final ✅', editedAt, metadata: { edited: true } });
      expect(edited?.mentions).toEqual({ userIds: [alice.id], room: false, here: true });
      expect(edited?.attachments).toHaveLength(1);

      const lastReplyAt = now();
      await store.messages.recordReply(message.id, now());
      await store.messages.recordReply(message.id, lastReplyAt);
      expect(await store.messages.findById(message.id)).toMatchObject({ replyCount: 2, lastReplyAt });

      const deletedAt = now();
      await store.messages.update(message.id, { text: '', deletedAt });
      expect(await store.messages.findById(message.id)).toMatchObject({ text: '', deletedAt });
      // The tombstone stays in the history.
      expect((await store.messages.page({ roomId: room.id, limit: 5 })).map((m) => m.id)).toEqual([
        message.id,
      ]);
      await store.messages.update(createId(), { text: 'nobody' });
      await store.messages.update(message.id, {});
    });

    test(
      'messages-count-unread',
      'counts unread timeline messages by others, newer than the marker',
      async () => {
        const alice = await newUser();
        const bob = await newUser();
        const room = await newRoom(alice.id, {}, [alice.id, bob.id]);
        const first = await newMessage(room.id, alice.id);
        const second = await newMessage(room.id, alice.id);
        await newMessage(room.id, alice.id, { threadRootId: first.id });
        await newMessage(room.id, bob.id);
        const gone = await newMessage(room.id, alice.id);
        await store.messages.update(gone.id, { text: '', deletedAt: now() });
        expect(await store.messages.countUnread(room.id, null, bob.id)).toBe(2);
        expect(await store.messages.countUnread(room.id, first.id, bob.id)).toBe(1);
        expect(await store.messages.countUnread(room.id, second.id, bob.id)).toBe(0);
        expect(await store.messages.countUnread(room.id, null, alice.id)).toBe(1);
        // Every room at once, from the members' own read markers.
        expect(await store.messages.countUnreadByRoom(bob.id)).toEqual(new Map([[room.id, 2]]));
        expect(await store.messages.countUnreadByRoom(alice.id)).toEqual(new Map([[room.id, 1]]));
        await store.memberships.update(room.id, bob.id, { lastReadMessageId: first.id });
        const quiet = await newRoom(bob.id, {}, [bob.id]);
        await newMessage(quiet.id, bob.id);
        expect(await store.messages.countUnreadByRoom(bob.id)).toEqual(new Map([[room.id, 1]]));
      },
    );

    test(
      'messages-count-unread-mentions',
      'counts unread mentions of a user, @room and @here, thread replies included, per room',
      async () => {
        const alice = await newUser();
        const bob = await newUser();
        const carol = await newUser();
        const room = await newRoom(alice.id, {}, [alice.id, bob.id, carol.id]);
        const other = await newRoom(alice.id, {}, [alice.id, bob.id]);
        const nobody = { userIds: [], room: false, here: false };
        const first = await newMessage(room.id, alice.id, { mentions: { ...nobody, userIds: [bob.id] } });
        await newMessage(room.id, alice.id, { mentions: { ...nobody, userIds: [carol.id] } });
        await newMessage(room.id, alice.id, { mentions: { ...nobody, room: true } });
        await newMessage(room.id, alice.id, {
          threadRootId: first.id,
          mentions: { ...nobody, userIds: [carol.id, bob.id] },
        });
        await newMessage(room.id, bob.id, { mentions: { ...nobody, here: true } });
        const gone = await newMessage(room.id, alice.id, { mentions: { ...nobody, userIds: [bob.id] } });
        await store.messages.update(gone.id, { text: '', deletedAt: now() });
        await newMessage(other.id, alice.id, { mentions: { ...nobody, here: true } });
        await newMessage(other.id, alice.id);
        expect(await store.messages.countUnreadMentionsByRoom(bob.id)).toEqual(
          new Map([
            [room.id, 3],
            [other.id, 1],
          ]),
        );
        expect(await store.messages.countUnreadMentionsByRoom(carol.id)).toEqual(new Map([[room.id, 4]]));
        await store.memberships.update(room.id, bob.id, { lastReadMessageId: first.id });
        expect((await store.messages.countUnreadMentionsByRoom(bob.id)).get(room.id)).toBe(2);
      },
    );

    test(
      'messages-count-unread-mentions-in-room',
      "counts one room's unread mentions as the per-room counts do, 0 outside the user's rooms",
      async () => {
        const alice = await newUser();
        const bob = await newUser();
        const room = await newRoom(alice.id, {}, [alice.id, bob.id]);
        const other = await newRoom(alice.id, {}, [alice.id, bob.id]);
        const elsewhere = await newRoom(alice.id, {}, [alice.id]);
        const nobody = { userIds: [], room: false, here: false };
        const first = await newMessage(room.id, alice.id, { mentions: { ...nobody, userIds: [bob.id] } });
        await newMessage(room.id, alice.id, { threadRootId: first.id, mentions: { ...nobody, here: true } });
        await newMessage(room.id, alice.id);
        await newMessage(room.id, bob.id, { mentions: { ...nobody, room: true } });
        await newMessage(other.id, alice.id, { mentions: { ...nobody, room: true } });
        await newMessage(elsewhere.id, alice.id, { mentions: { ...nobody, userIds: [bob.id] } });
        expect(await store.messages.countUnreadMentions(bob.id, room.id)).toBe(2);
        expect(await store.messages.countUnreadMentions(bob.id, other.id)).toBe(1);
        expect(await store.messages.countUnreadMentions(bob.id, elsewhere.id)).toBe(0);
        await store.memberships.update(room.id, bob.id, { lastReadMessageId: first.id });
        expect(await store.messages.countUnreadMentions(bob.id, room.id)).toBe(1);
        const byRoom = await store.messages.countUnreadMentionsByRoom(bob.id);
        expect(byRoom.get(room.id)).toBe(1);
      },
    );

    test('messages-unique', 'refuses a taken message id with a conflict', async () => {
      const alice = await newUser();
      const room = await newRoom(alice.id);
      const message = await newMessage(room.id, alice.id);
      expect(
        await conflictField(store.messages.insert(messageFixture(room.id, alice.id, { id: message.id }))),
      ).toBe('id');
    });
  });

  describe('idempotent inserts', () => {
    test(
      'messages-duplicate',
      'returns duplicate for a repeated (author, clientMessageId) and writes nothing',
      async () => {
        const alice = await newUser();
        const bob = await newUser();
        const room = await newRoom(alice.id);
        const first = await newMessage(room.id, alice.id, { text: 'once', clientMessageId: 'key-1' });
        const again = messageFixture(room.id, alice.id, { text: 'twice', clientMessageId: 'key-1' });
        expect(await store.messages.insert(again)).toBe('duplicate');
        expect(await store.messages.findById(again.id)).toBeUndefined();
        expect((await store.messages.findByClientMessageId(alice.id, 'key-1'))?.id).toBe(first.id);
        // Another author, another case, or no key at all is another message.
        await newMessage(room.id, bob.id, { clientMessageId: 'key-1' });
        await newMessage(room.id, alice.id, { clientMessageId: 'KEY-1' });
        await newMessage(room.id, alice.id);
        await newMessage(room.id, alice.id);
        expect(await store.messages.page({ roomId: room.id, limit: 10 })).toHaveLength(5);
      },
    );

    test('messages-duplicate-in-transaction', 'keeps the transaction usable after a duplicate', async () => {
      const alice = await newUser();
      const room = await newRoom(alice.id);
      await newMessage(room.id, alice.id, { clientMessageId: 'key-2' });
      const after = messageFixture(room.id, alice.id);
      await store.transaction(async (tx) => {
        expect(
          await tx.messages.insert(messageFixture(room.id, alice.id, { clientMessageId: 'key-2' })),
        ).toBe('duplicate');
        expect(await tx.messages.insert(after)).toBe('inserted');
      });
      expect(await store.messages.findById(after.id)).toBeDefined();
    });

    test(
      'messages-concurrent-duplicate',
      'stores one message when two concurrent transactions insert the same key',
      async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const hold = gate();
        const inserted = gate();
        const one = messageFixture(room.id, alice.id, { text: 'one', clientMessageId: 'race' });
        const two = messageFixture(room.id, alice.id, { text: 'two', clientMessageId: 'race' });
        const first = store.transaction(async (tx) => {
          const result = await tx.messages.insert(one);
          inserted.open();
          await hold.promise;
          return result;
        });
        await inserted.promise;
        // PostgreSQL and InnoDB make this insert wait on the first transaction's index entry.
        const second = store.transaction((tx) => tx.messages.insert(two));
        await pause(50);
        hold.open();
        expect(await Promise.all([first, second])).toEqual(['inserted', 'duplicate']);
        expect((await store.messages.findByClientMessageId(alice.id, 'race'))?.text).toBe('one');
        expect(await store.messages.findById(two.id)).toBeUndefined();
      },
    );

    test(
      'messages-concurrent-rollback',
      'lets the waiting insert through when the first transaction rolls back',
      async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const hold = gate();
        const inserted = gate();
        const one = messageFixture(room.id, alice.id, { text: 'one', clientMessageId: 'race-2' });
        const two = messageFixture(room.id, alice.id, { text: 'two', clientMessageId: 'race-2' });
        const first = store.transaction(async (tx) => {
          await tx.messages.insert(one);
          inserted.open();
          await hold.promise;
          throw new Error('roll back');
        });
        await inserted.promise;
        const second = store.transaction((tx) => tx.messages.insert(two));
        await pause(50);
        hold.open();
        await expect(first).rejects.toThrow('roll back');
        expect(await second).toBe('inserted');
        expect((await store.messages.findByClientMessageId(alice.id, 'race-2'))?.text).toBe('two');
      },
    );
  });

  describe('byte-exact text', () => {
    test('text-byte-exact', 'round-trips Japanese, emoji, zero-width characters and 64 KiB', async () => {
      const alice = await newUser({ displayName: '山田 👨‍👩‍👧‍👦' });
      const room = await newRoom(alice.id, { name: unique('会話'), topic: '𠮷野家 🇯🇵' });
      expect(await store.users.findById(alice.id)).toEqual(alice);
      expect(await store.rooms.findById(room.id)).toEqual(room);
      const longest = `${'x'.repeat(MAX_MESSAGE_BYTES - 4)}🎉`;
      expect(Buffer.byteLength(longest, 'utf8')).toBe(65_536);
      const texts = [
        '会話を始めましょう。東京タワーは３３３ｍです！',
        'family 👨‍👩‍👧‍👦 flag 🇯🇵 skin 👋🏽 math 𝒳 old 𠮷野家',
        'zero\u200bwidth\u200djoiner\ufeffbom, combining e\u0301 and é, trailing space ',
        'quotes \' " ` backslash \\ percent % underscore _ nul-free \u0001 tab\tnewline\n',
        longest,
        '日本語'.repeat(21_845).slice(0, 21_845),
      ];
      for (const text of texts) {
        const message = await newMessage(room.id, alice.id, { text, metadata: { text } });
        const read = await store.messages.findById(message.id);
        expect(Buffer.from(read!.text, 'utf8').equals(Buffer.from(text, 'utf8'))).toBe(true);
        expect(read!.metadata).toEqual({ text });
      }
    });

    test('reactions-distinct-emoji', 'keeps distinct emoji apart in reactions', async () => {
      const alice = await newUser();
      const bob = await newUser();
      const room = await newRoom(alice.id);
      const message = await newMessage(room.id, alice.id);
      const at = now();
      for (const emoji of ['👍', '👍🏽', '👎', '❤️', '❤', ':tada:', '👨‍👩‍👧']) {
        expect(
          await store.reactions.add({ messageId: message.id, userId: alice.id, emoji, createdAt: at }),
        ).toBe(true);
      }
      expect(
        await store.reactions.add({ messageId: message.id, userId: bob.id, emoji: '👍', createdAt: now() }),
      ).toBe(true);
      const reactions = (await store.messages.findById(message.id))!.reactions;
      expect(reactions.map((reaction) => reaction.emoji).sort()).toEqual(
        ['👍', '👍🏽', '👎', '❤️', '❤', ':tada:', '👨‍👩‍👧'].sort(),
      );
      expect(reactions.find((reaction) => reaction.emoji === '👍')).toEqual({
        emoji: '👍',
        count: 2,
        userIds: [alice.id, bob.id],
      });
    });
  });

  describe('reactions', () => {
    test(
      'reactions-add-remove',
      'adds and removes reactions once per user and emoji, summarised in order of first use',
      async () => {
        const alice = await newUser();
        const bob = await newUser();
        const room = await newRoom(alice.id);
        const message = await newMessage(room.id, alice.id);
        const other = await newMessage(room.id, alice.id);
        const times = ['2026-11-25T09:30:00.000Z', '2026-11-25T09:30:01.000Z', '2026-11-25T09:30:02.000Z'];
        expect(
          await store.reactions.add({
            messageId: message.id,
            userId: bob.id,
            emoji: '🎉',
            createdAt: times[0]!,
          }),
        ).toBe(true);
        expect(
          await store.reactions.add({
            messageId: message.id,
            userId: alice.id,
            emoji: '👍',
            createdAt: times[1]!,
          }),
        ).toBe(true);
        expect(
          await store.reactions.add({
            messageId: message.id,
            userId: alice.id,
            emoji: '🎉',
            createdAt: times[2]!,
          }),
        ).toBe(true);
        expect(
          await store.reactions.add({ messageId: message.id, userId: bob.id, emoji: '🎉', createdAt: now() }),
        ).toBe(false);
        expect(
          await store.reactions.add({ messageId: other.id, userId: bob.id, emoji: '👍', createdAt: now() }),
        ).toBe(true);

        const [first, second] = await store.messages.findByIds([message.id, other.id]);
        expect(first!.reactions).toEqual([
          { emoji: '🎉', count: 2, userIds: [bob.id, alice.id] },
          { emoji: '👍', count: 1, userIds: [alice.id] },
        ]);
        expect(second!.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [bob.id] }]);
        const page = await store.messages.page({ roomId: room.id, limit: 10 });
        expect(page.map((m) => m.reactions)).toEqual([second!.reactions, first!.reactions]);

        expect(await store.reactions.remove({ messageId: message.id, userId: bob.id, emoji: '🎉' })).toBe(
          true,
        );
        expect(await store.reactions.remove({ messageId: message.id, userId: bob.id, emoji: '🎉' })).toBe(
          false,
        );
        // 🎉 now dates from alice's reaction, after her 👍.
        expect((await store.messages.findById(message.id))!.reactions).toEqual([
          { emoji: '👍', count: 1, userIds: [alice.id] },
          { emoji: '🎉', count: 1, userIds: [alice.id] },
        ]);
      },
    );
  });

  describe('search', () => {
    let reader: User;
    let author: User;
    let shared: Room;
    let publicRoom: Room;
    let secret: Room;
    let tag: string;
    const found = async (text: string, options: { roomId?: string; before?: string; limit?: number } = {}) =>
      (
        await store.messages.search({
          readerId: reader.id,
          includeChannels: true,
          text,
          limit: options.limit ?? 50,
          ...(options.roomId ? { roomId: options.roomId } : {}),
          ...(options.before ? { before: options.before } : {}),
        })
      ).map((message) => message.text);

    beforeAll(async () => {
      reader = await newUser();
      author = await newUser();
      shared = await newRoom(author.id, { kind: 'group' }, [author.id, reader.id]);
      publicRoom = await newRoom(author.id, {}, [author.id]);
      secret = await newRoom(author.id, { kind: 'group' }, [author.id]);
      tag = `tag${randomBytes(4).toString('hex')}`;
      for (const text of [
        `The ${tag} deployment went fine`,
        `明日は${tag}東京タワーに行きます`,
        `${tag} 京都の会議は延期`,
        `${tag} mixed 日本語とEnglishのtext`,
        `${tag} Ｆｕｌｌ ｗｉｄｔｈ ＨＥＬＬＯ and café`,
        `${tag} достопримечательностьпрекрасная`,
      ]) {
        await newMessage(shared.id, author.id, { text });
      }
      await newMessage(shared.id, author.id, { text: '🎉🎉🎉' });
      await newMessage(publicRoom.id, author.id, { text: `${tag} in public 東京` });
      await newMessage(secret.id, author.id, { text: `${tag} in secret 東京` });
      const gone = await newMessage(shared.id, author.id, { text: `${tag} deleted 東京タワー` });
      await store.messages.update(gone.id, { deletedAt: now() });
    });

    test(
      'search-words',
      'finds English words, case- and width-insensitively, and requires every word',
      async () => {
        expect(await found(`${tag} deployment`)).toEqual([`The ${tag} deployment went fine`]);
        expect(await found(`${tag} hello`)).toEqual([`${tag} Ｆｕｌｌ ｗｉｄｔｈ ＨＥＬＬＯ and café`]);
        expect(await found(`${tag} CAFÉ`)).toHaveLength(1);
        expect(await found(`${tag} cafe`)).toEqual([]);
        expect(await found(`${tag} deploy`)).toEqual([]);
        expect(await found(`${tag} deployment missing`)).toEqual([]);
        expect(await found(`${tag} достопримечательностьпрекрасная`)).toHaveLength(1);
        // Combining marks belong to the word: a letter of it alone is another word.
        const script = `tag${randomBytes(4).toString('hex')}`;
        await newMessage(shared.id, author.id, { text: `${script} हिन्दी भाषा` });
        expect(await found(`${script} हिन्दी`)).toEqual([`${script} हिन्दी भाषा`]);
        expect(await found(`${script} ह`)).toEqual([]);
      },
    );

    test(
      'search-japanese',
      'finds Japanese substrings of one, two and five characters, in order only',
      async () => {
        expect(await found(`${tag} 東京タワー`)).toEqual([`明日は${tag}東京タワーに行きます`]);
        expect(await found(`${tag} 京タ`)).toEqual([`明日は${tag}東京タワーに行きます`]);
        expect(await found(`${tag} 会議`)).toEqual([`${tag} 京都の会議は延期`]);
        expect((await found(`${tag} 京`)).sort()).toEqual(
          [`明日は${tag}東京タワーに行きます`, `${tag} 京都の会議は延期`].sort(),
        );
        expect(await found(`${tag} 延`)).toEqual([`${tag} 京都の会議は延期`]);
        expect(await found(`${tag} タ京`)).toEqual([]);
        expect(await found(`${tag} 大阪`)).toEqual([]);
        expect(await found(`${tag} 日本語 english`)).toEqual([`${tag} mixed 日本語とEnglishのtext`]);
        expect(await found('本語と english')).toEqual([`${tag} mixed 日本語とEnglishのtext`]);
        // Every bigram of 東京都 is in this text, but not next to each other.
        const other = `tag${randomBytes(4).toString('hex')}`;
        await newMessage(shared.id, author.id, { text: `${other} 京都と東京` });
        expect(await found(`${other} 東京都`)).toEqual([]);
        expect(await found(`${other} 都と東`)).toEqual([`${other} 京都と東京`]);
      },
    );

    test(
      'search-no-terms',
      'returns nothing for a query without terms, and never matches emoji-only text',
      async () => {
        expect(await found('🎉')).toEqual([]);
        expect(await found('   !? ')).toEqual([]);
      },
    );

    test(
      'search-visibility',
      'searches the rooms the reader belongs to and public channels, never deleted messages',
      async () => {
        const everything = await found(tag);
        expect(everything).toHaveLength(7);
        expect(everything).toContain(`${tag} in public 東京`);
        expect(everything.some((text) => text.includes('secret') || text.includes('deleted'))).toBe(false);
        const membersOnly = await store.messages.search({
          readerId: reader.id,
          includeChannels: false,
          text: tag,
          limit: 50,
        });
        expect(membersOnly).toHaveLength(6);
        expect(await found(tag, { roomId: publicRoom.id })).toEqual([`${tag} in public 東京`]);
        expect(await found(tag, { roomId: secret.id })).toEqual([]);
        const authorView = await store.messages.search({
          readerId: author.id,
          includeChannels: false,
          text: '東京',
          limit: 50,
        });
        expect(authorView.map((message) => message.text)).toContain(`${tag} in secret 東京`);
      },
    );

    test('search-order', 'returns the newest first, with limit and before cursor', async () => {
      const all = await store.messages.search({
        readerId: reader.id,
        includeChannels: true,
        text: tag,
        limit: 50,
      });
      const ids = all.map((message) => message.id);
      expect(ids).toEqual([...ids].sort().reverse());
      expect(all[0]).toMatchObject({ text: `${tag} in public 東京`, reactions: [] });
      const page = await found(tag, { limit: 2, before: ids[1] });
      expect(page).toEqual(all.slice(2, 4).map((message) => message.text));
    });

    test('search-follows-edits', 'follows edits and deletions', async () => {
      const message = await newMessage(shared.id, author.id, { text: `${tag} before edit` });
      await store.messages.update(message.id, { text: `${tag} after rewrite`, editedAt: now() });
      expect(await found(`${tag} before`)).toEqual([]);
      expect(await found(`${tag} rewrite`)).toEqual([`${tag} after rewrite`]);
      await store.messages.update(message.id, { text: '', deletedAt: now() });
      expect(await found(`${tag} rewrite`)).toEqual([]);
      const restored = await newMessage(shared.id, author.id, { text: `${tag} restorable` });
      await store.messages.update(restored.id, { deletedAt: now() });
      await store.messages.update(restored.id, { deletedAt: null });
      expect(await found(`${tag} restorable`)).toEqual([`${tag} restorable`]);
    });
  });

  describe('transactions', () => {
    test('transaction-rollback', 'writes nothing when the work throws, search index included', async () => {
      const word = `rollback${randomBytes(4).toString('hex')}`;
      const user = userFixture();
      const room = roomFixture(user.id);
      const message = messageFixture(room.id, user.id, { text: `${word} text` });
      const failed = store.transaction(async (tx) => {
        await tx.users.insert(user);
        await tx.rooms.insert(room);
        await tx.memberships.insert(membershipFixture(room.id, user.id));
        expect(await tx.messages.insert(message)).toBe('inserted');
        expect(await tx.messages.findById(message.id)).toBeDefined();
        throw new Error('abort');
      });
      await expect(failed).rejects.toThrow('abort');
      expect(await store.users.findById(user.id)).toBeUndefined();
      expect(await store.rooms.findById(room.id)).toBeUndefined();
      expect(await store.messages.findById(message.id)).toBeUndefined();
      await store.users.insert(user);
      await store.rooms.insert(room);
      await store.memberships.insert(membershipFixture(room.id, user.id));
      expect(
        await store.messages.search({ readerId: user.id, includeChannels: false, text: word, limit: 5 }),
      ).toEqual([]);
    });

    test(
      'transaction-commit',
      'commits everything when the work resolves, and returns its value',
      async () => {
        const user = userFixture();
        const result = await store.transaction(async (tx) => {
          await tx.users.insert(user);
          return tx.users.findById(user.id);
        });
        expect(result).toEqual(user);
        expect(await store.users.findById(user.id)).toEqual(user);
      },
    );
  });

  describe('room events', () => {
    test('room-events', 'appends events and lists them after a sequence number', async () => {
      const alice = await newUser();
      const room = await newRoom(alice.id);
      const message = { ...messageFixture(room.id, alice.id, { text: '本文 🎉' }), reactions: [] };
      const events: RoomEvent[] = [
        { roomId: room.id, seq: 1, type: 'message.created', payload: { message }, createdAt: now() },
        {
          roomId: room.id,
          seq: 2,
          type: 'reaction.added',
          payload: { messageId: message.id, emoji: '👍', userId: alice.id },
          createdAt: now(),
        },
        {
          roomId: room.id,
          seq: 3,
          type: 'member.left',
          payload: { roomId: room.id, userId: alice.id },
          createdAt: now(),
        },
      ];
      for (const event of events) await store.roomEvents.append(event);
      expect(await store.roomEvents.listSince(room.id, 0, 10)).toEqual(events);
      expect(await store.roomEvents.listSince(room.id, 1, 1)).toEqual([events[1]]);
      expect(await store.roomEvents.listSince(room.id, 3, 10)).toEqual([]);
      expect(await conflictField(store.roomEvents.append(events[0]!))).toBe('seq');
    });
  });
}
