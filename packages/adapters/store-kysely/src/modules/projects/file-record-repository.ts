import type { FileRecord, FileRecordRepository } from '@kaiwa/core';
import type { Selectable } from 'kysely';
import type { FilesTable } from '../../database.js';
import { asConflictError } from '../../unique-violations.js';
import type { RepositoryContext } from '../repository-context.js';

function toFileRecord(row: Selectable<FilesTable>): FileRecord {
  return {
    id: row.id,
    name: row.name,
    mimeType: row.mime_type,
    size: Number(row.size),
    sha256: row.sha256,
    storageKey: row.storage_key,
    uploaderId: row.uploader_id,
    roomId: row.room_id,
    projectId: row.project_id,
    ticketId: row.ticket_id,
    createdAt: row.created_at,
  };
}

export class KyselyFileRecordRepository implements FileRecordRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async insert(file: FileRecord): Promise<void> {
    try {
      await this.#context.db
        .insertInto('files')
        .values({
          id: file.id,
          name: file.name,
          mime_type: file.mimeType,
          size: file.size,
          sha256: file.sha256,
          storage_key: file.storageKey,
          uploader_id: file.uploaderId,
          room_id: file.roomId,
          project_id: file.projectId,
          ticket_id: file.ticketId,
          created_at: file.createdAt,
        })
        .execute();
    } catch (error) {
      throw asConflictError(error, 'files');
    }
  }

  async findById(id: string): Promise<FileRecord | undefined> {
    const row = await this.#context.db
      .selectFrom('files')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toFileRecord(row);
  }

  async findByIds(ids: string[]): Promise<FileRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.#context.db
      .selectFrom('files')
      .selectAll()
      .where('id', 'in', ids)
      .orderBy('id')
      .execute();
    return rows.map(toFileRecord);
  }

  async list(query: {
    roomId?: string;
    projectId?: string;
    ticketId?: string;
    mimeType?: string;
    after?: string;
    limit: number;
  }): Promise<FileRecord[]> {
    let select = this.#context.db.selectFrom('files').selectAll();
    if (query.roomId !== undefined) select = select.where('room_id', '=', query.roomId);
    if (query.projectId !== undefined) select = select.where('project_id', '=', query.projectId);
    if (query.ticketId !== undefined) select = select.where('ticket_id', '=', query.ticketId);
    if (query.mimeType?.endsWith('/*')) {
      // `image/*` is the range ['image/', 'image0'): '0' follows '/' in byte order, which every dialect's
      // mime_type collation uses. Unlike LIKE, this needs no escaping and keeps the index usable.
      const prefix = query.mimeType.slice(0, -1);
      select = select.where('mime_type', '>=', prefix).where('mime_type', '<', `${prefix.slice(0, -1)}0`);
    } else if (query.mimeType !== undefined) {
      select = select.where('mime_type', '=', query.mimeType);
    }
    if (query.after !== undefined) select = select.where('id', '>', query.after);
    const rows = await select.orderBy('id').limit(query.limit).execute();
    return rows.map(toFileRecord);
  }

  async delete(id: string): Promise<void> {
    await this.#context.db.deleteFrom('files').where('id', '=', id).execute();
  }
}
