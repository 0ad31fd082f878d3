import type { ReactionRepository } from '@kaiwa/core';
import type { RepositoryContext } from '../repository-context.js';

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
    const { db, adapter } = this.#context;
    const row = {
      message_id: reaction.messageId,
      emoji: reaction.emoji,
      user_id: reaction.userId,
      created_at: reaction.createdAt,
    };
    return adapter.insertOnce(db, {
      table: 'reactions',
      row,
      key: { name: 'reactions_pkey', columns: ['message_id', 'emoji', 'user_id'] },
    });
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
