import type { ReactionRepository } from '@kaiwa/core';
import { asConflictError, uniqueViolation } from '../unique-violations.js';
import type { RepositoryContext } from './repository-context.js';

export class KyselyReactionRepository implements ReactionRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async add(reaction: {
    messageId: string;
    userId: string;
    emoji: string;
    createdAt: string;
  }): Promise<boolean> {
    const { db, dialect } = this.#context;
    const row = {
      message_id: reaction.messageId,
      emoji: reaction.emoji,
      user_id: reaction.userId,
      created_at: reaction.createdAt,
    };
    if (dialect === 'mysql') {
      // ON DUPLICATE KEY UPDATE cannot tell "existed" from "inserted" under mysql2's FOUND_ROWS flag.
      try {
        await db.insertInto('reactions').values(row).execute();
        return true;
      } catch (error) {
        if (uniqueViolation(error, 'reactions')?.key === 'reactions_pkey') return false;
        throw asConflictError(error, 'reactions');
      }
    }
    const result = await db
      .insertInto('reactions')
      .values(row)
      .onConflict((conflict) => conflict.columns(['message_id', 'emoji', 'user_id']).doNothing())
      .executeTakeFirst();
    return Boolean(result.numInsertedOrUpdatedRows);
  }

  async remove(reaction: { messageId: string; userId: string; emoji: string }): Promise<boolean> {
    const result = await this.#context.db
      .deleteFrom('reactions')
      .where('message_id', '=', reaction.messageId)
      .where('emoji', '=', reaction.emoji)
      .where('user_id', '=', reaction.userId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
