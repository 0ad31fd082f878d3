import type { BridgeEndpoint, BridgeMessageMapping, BridgeRepository } from '@kaiwa/core';
import type { Selectable } from 'kysely';
import type { BridgeMessagesTable } from '../../database.js';
import type { RepositoryContext } from '../repository-context.js';

export class KyselyBridgeRepository implements BridgeRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async addEndpoint(endpoint: BridgeEndpoint): Promise<boolean> {
    const row = {
      bridge_id: endpoint.bridgeId,
      platform: endpoint.platform,
      channel_id: endpoint.channelId,
      created_at: endpoint.createdAt,
    };
    return this.#context.adapter.insertOnce(this.#context.db, {
      table: 'bridge_endpoints',
      row,
      key: { name: 'bridge_endpoints_pkey', columns: ['bridge_id', 'platform', 'channel_id'] },
    });
  }

  async removeEndpoint(bridgeId: string, platform: string, channelId: string): Promise<boolean> {
    const result = await this.#context.db
      .deleteFrom('bridge_endpoints')
      .where('bridge_id', '=', bridgeId)
      .where('platform', '=', platform)
      .where('channel_id', '=', channelId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listEndpoints(bridgeId: string): Promise<BridgeEndpoint[]> {
    const rows = await this.#context.db
      .selectFrom('bridge_endpoints')
      .selectAll()
      .where('bridge_id', '=', bridgeId)
      .orderBy('created_at')
      .orderBy('platform')
      .orderBy('channel_id')
      .execute();
    return rows.map(toEndpoint);
  }

  async findEndpoints(platform: string, channelId: string): Promise<BridgeEndpoint[]> {
    const rows = await this.#context.db
      .selectFrom('bridge_endpoints')
      .selectAll()
      .where('platform', '=', platform)
      .where('channel_id', '=', channelId)
      .orderBy('bridge_id')
      .execute();
    return rows.map(toEndpoint);
  }

  async recordMessage(mapping: BridgeMessageMapping): Promise<boolean> {
    const row = {
      bridge_id: mapping.bridgeId,
      group_id: mapping.groupId,
      platform: mapping.platform,
      channel_id: mapping.channelId,
      message_id: mapping.messageId,
      thread_id: mapping.threadId,
      role: mapping.role,
      created_at: mapping.createdAt,
    };
    return this.#context.adapter.insertOnce(this.#context.db, {
      table: 'bridge_messages',
      row,
      key: { name: 'bridge_messages_pkey', columns: ['bridge_id', 'platform', 'channel_id', 'message_id'] },
    });
  }

  async findMessage(platform: string, channelId: string, messageId: string): Promise<BridgeMessageMapping[]> {
    const rows = await this.#context.db
      .selectFrom('bridge_messages')
      .selectAll()
      .where('platform', '=', platform)
      .where('channel_id', '=', channelId)
      .where('message_id', '=', messageId)
      .orderBy('bridge_id')
      .execute();
    return rows.map(toMapping);
  }

  async listGroup(bridgeId: string, groupId: string): Promise<BridgeMessageMapping[]> {
    const rows = await this.#context.db
      .selectFrom('bridge_messages')
      .selectAll()
      .where('bridge_id', '=', bridgeId)
      .where('group_id', '=', groupId)
      .execute();
    // Origin first, then copies in the order they were made.
    return rows
      .map(toMapping)
      .sort(
        (a, b) =>
          Number(b.role === 'origin') - Number(a.role === 'origin') ||
          a.createdAt.localeCompare(b.createdAt) ||
          `${a.platform}:${a.channelId}`.localeCompare(`${b.platform}:${b.channelId}`),
      );
  }
}

function toEndpoint(
  row: Selectable<{ bridge_id: string; platform: string; channel_id: string; created_at: string }>,
) {
  return {
    bridgeId: row.bridge_id,
    platform: row.platform,
    channelId: row.channel_id,
    createdAt: row.created_at,
  };
}

function toMapping(row: Selectable<BridgeMessagesTable>): BridgeMessageMapping {
  return {
    bridgeId: row.bridge_id,
    groupId: row.group_id,
    platform: row.platform,
    channelId: row.channel_id,
    messageId: row.message_id,
    threadId: row.thread_id,
    role: row.role === 'origin' ? 'origin' : 'copy',
    createdAt: row.created_at,
  };
}
