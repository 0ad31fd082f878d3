import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../errors.js';
import { createId } from '../../ids.js';
import type { ChatStorage, StoredMessage, StoreRepositories } from '../../ports/chat-store.js';
import type { Membership, Room } from '../../schemas/room.js';
import type { User } from '../../schemas/user.js';

/* Fixtures and helpers the repository suites share; not exported from `@kaiwa/core/testing`. */

/** A name unique to this run, so suites may share a database. */
export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
export const now = () => new Date().toISOString();

export function userFixture(overrides: Partial<User> = {}): User {
  const at = now();
  return {
    id: createId(),
    username: unique('user'),
    displayName: 'Someone',
    role: 'member',
    forcePasswordChange: false,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

export function roomFixture(createdBy: string, overrides: Partial<Room> = {}): Room {
  const at = now();
  return {
    id: createId(),
    kind: 'channel',
    name: unique('room'),
    topic: '',
    archived: false,
    createdBy,
    lastSeq: 0,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

export function messageFixture(
  roomId: string,
  authorId: string,
  overrides: Partial<StoredMessage> = {},
): StoredMessage {
  return {
    id: createId(),
    seq: 1,
    roomId,
    authorId,
    text: 'hello',
    mentions: { userIds: [], room: false, here: false },
    threadRootId: null,
    replyToId: null,
    attachments: [],
    replyCount: 0,
    lastReplyAt: null,
    clientMessageId: null,
    metadata: {},
    createdAt: now(),
    editedAt: null,
    deletedAt: null,
    ...overrides,
  };
}

export function membershipFixture(
  roomId: string,
  userId: string,
  overrides: Partial<Membership> = {},
): Membership {
  return {
    roomId,
    userId,
    role: 'member',
    lastReadMessageId: null,
    muted: false,
    joinedAt: now(),
    ...overrides,
  };
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/** The field a rejected write names in its ConflictError. */
export async function conflictField(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ConflictError);
  return (error as ConflictError).field;
}

/** A promise with its resolve function, to hold one transaction open while another runs. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What a suite needs of the store it checks: the storage modules it covers (`Storage`, such as `ChatStorage`),
 * transactions over them, and `close()`. A `ChatStore` is one; so is storage composed of fewer modules.
 */
export type StorageUnderTest<Storage extends object> = Storage & {
  transaction<T>(
    work: (tx: Storage & { savepoint<R>(work: () => Promise<R>): Promise<R> }) => Promise<T>,
  ): Promise<T>;
  close(): Promise<void>;
};

/**
 * What each repository suite is declared with. `store` is the suite's store, opened in `beforeAll`: tests
 * are declared before it exists, so it forwards every property read to the store once it is open.
 */
export interface RepositorySuite<Test extends string, Storage extends ChatStorage = StoreRepositories> {
  store: StorageUnderTest<Storage>;
  /** Declares a test; one the implementation skips is declared skipped, its reason in the title. */
  test: (key: Test, title: string, body: () => Promise<void>) => void;
  newUser: (overrides?: Partial<User>) => Promise<User>;
  newRoom: (createdBy: string, overrides?: Partial<Room>, memberIds?: string[]) => Promise<Room>;
  newMessage: (
    roomId: string,
    authorId: string,
    overrides?: Partial<StoredMessage>,
  ) => Promise<StoredMessage>;
}

/** Options every repository suite takes. */
export interface RepositorySuiteOptions<
  Test extends string,
  Storage extends ChatStorage = StoreRepositories,
> {
  /** Shown in the test names, e.g. `sqlite`. */
  name: string;
  /** Opens a fresh, migrated store of its own. Called once per suite; `close()` is called at the end. */
  open: () => Promise<StorageUnderTest<Storage>>;
  /** Why the whole suite is skipped; undefined runs it. */
  skip?: string;
  /** Tests the implementation cannot pass, each with its reason (hono's `common.case.test.ts` style). */
  skipTests?: Partial<Record<Test, string>>;
}

/** A store whose properties are read from `current()` when used: methods stay bound to the real store. */
export function lateBoundStore<Store extends object>(current: () => Store): Store {
  return new Proxy({} as Store, {
    get(_target, property) {
      const store = current();
      const value = Reflect.get(store, property, store) as unknown;
      return typeof value === 'function' ? value.bind(store) : value;
    },
  });
}

/** The suite object of {@link RepositorySuite} for one open store. */
export function repositorySuite<Test extends string, Storage extends ChatStorage>(
  current: () => StorageUnderTest<Storage>,
  skipTests: Partial<Record<Test, string>> | undefined,
): RepositorySuite<Test, Storage> {
  const store = lateBoundStore(current);
  return {
    store,
    test: (key, title, body) => {
      const reason = skipTests?.[key];
      if (reason) it.skip(`${title} (skipped: ${reason})`, body);
      else it(title, body);
    },
    newUser: async (overrides = {}) => {
      const user = userFixture(overrides);
      await store.users.insert(user);
      return user;
    },
    newRoom: async (createdBy, overrides = {}, memberIds = [createdBy]) => {
      const room = roomFixture(createdBy, overrides);
      await store.rooms.insert(room);
      for (const userId of memberIds) await store.memberships.insert(membershipFixture(room.id, userId));
      return room;
    },
    newMessage: async (roomId, authorId, overrides = {}) => {
      const message = messageFixture(roomId, authorId, overrides);
      expect(await store.messages.insert(message)).toBe('inserted');
      return message;
    },
  };
}

/**
 * Declares one contract: a `describe` titled `title: name` with a store of its own, opened before its tests
 * and closed after them, skipped as a whole with `options.skip` and test by test with `options.skipTests`.
 */
export function repositoryContract<Test extends string, Storage extends ChatStorage>(
  title: string,
  options: RepositorySuiteOptions<Test, Storage>,
  declare: (suite: RepositorySuite<Test, Storage>) => void,
): void {
  const suite = options.skip ? describe.skip : describe;
  suite(`${title}: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    let store: StorageUnderTest<Storage> | undefined;
    beforeAll(async () => {
      store = await options.open();
    });
    afterAll(async () => {
      await store?.close();
    });
    declare(
      repositorySuite<Test, Storage>(() => {
        if (store === undefined) throw new Error('the store is not open yet');
        return store;
      }, options.skipTests),
    );
  });
}
