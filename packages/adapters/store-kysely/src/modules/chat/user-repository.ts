import type { User, UserRepository, UserRole } from '@kaiwa/core';
import type { Selectable, Updateable } from 'kysely';
import type { UsersTable } from '../../database.js';
import { asConflictError } from '../../unique-violations.js';
import type { RepositoryContext } from '../repository-context.js';

function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role as UserRole,
    forcePasswordChange: Boolean(row.force_password_change),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.deactivated_at ? { deactivatedAt: row.deactivated_at } : {}),
  };
}

export class KyselyUserRepository implements UserRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async insert(user: User): Promise<void> {
    const { db, adapter } = this.#context;
    try {
      await db
        .insertInto('users')
        .values({
          id: user.id,
          username: user.username,
          display_name: user.displayName,
          role: user.role,
          force_password_change: adapter.sqlBoolean(user.forcePasswordChange),
          created_at: user.createdAt,
          updated_at: user.updatedAt,
        })
        .execute();
    } catch (error) {
      throw asConflictError(error, 'users');
    }
  }

  async findById(id: string): Promise<User | undefined> {
    // On every engine call (the actor): compiled once.
    const { db, prepared } = this.#context;
    const { rows } = await db.executeQuery(
      prepared.bind('users.findById', { id }, (values) =>
        db.selectFrom('users').selectAll().where('id', '=', values.id),
      ),
    );
    return rows[0] && toUser(rows[0]);
  }

  async findByUsername(username: string): Promise<User | undefined> {
    const row = await this.#context.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    return row && toUser(row);
  }

  async findByUsernames(usernames: string[]): Promise<User[]> {
    if (usernames.length === 0) return [];
    const rows = await this.#context.db
      .selectFrom('users')
      .selectAll()
      .where('username', 'in', usernames)
      .orderBy('id')
      .execute();
    return rows.map(toUser);
  }

  async findByIds(ids: string[]): Promise<User[]> {
    if (ids.length === 0) return [];
    const rows = await this.#context.db
      .selectFrom('users')
      .selectAll()
      .where('id', 'in', ids)
      .orderBy('id')
      .execute();
    return rows.map(toUser);
  }

  async list(query: {
    role?: UserRole;
    after?: string;
    limit: number;
    includeDeactivated?: boolean;
  }): Promise<User[]> {
    let select = this.#context.db.selectFrom('users').selectAll();
    if (query.role !== undefined) select = select.where('role', '=', query.role);
    if (!query.includeDeactivated) select = select.where('deactivated_at', 'is', null);
    if (query.after !== undefined) select = select.where('id', '>', query.after);
    const rows = await select.orderBy('id').limit(query.limit).execute();
    return rows.map(toUser);
  }

  async count(): Promise<number> {
    const row = await this.#context.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async update(
    id: string,
    patch: Partial<Pick<User, 'displayName' | 'role' | 'forcePasswordChange' | 'updatedAt'>> & {
      deactivatedAt?: string | null;
    },
  ): Promise<void> {
    const { db, adapter } = this.#context;
    const values: Updateable<UsersTable> = {};
    if (patch.displayName !== undefined) values.display_name = patch.displayName;
    if (patch.role !== undefined) values.role = patch.role;
    if (patch.forcePasswordChange !== undefined) {
      values.force_password_change = adapter.sqlBoolean(patch.forcePasswordChange);
    }
    if (patch.updatedAt !== undefined) values.updated_at = patch.updatedAt;
    if (patch.deactivatedAt !== undefined) values.deactivated_at = patch.deactivatedAt;
    if (Object.keys(values).length === 0) return;
    await db.updateTable('users').set(values).where('id', '=', id).execute();
  }
}
