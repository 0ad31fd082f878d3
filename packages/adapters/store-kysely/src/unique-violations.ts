import { ConflictError } from '@kaiwa/core';

/*
 * Turns the three drivers' uniqueness errors into ConflictError. PostgreSQL names the violated constraint,
 * MariaDB/MySQL name the index ('PRIMARY' for a primary key) and SQLite lists the columns, so each key is
 * known here by name and by columns.
 */

interface UniqueKey {
  table: string;
  columns: string;
  field: string;
  message: string;
}

const UNIQUE_KEYS: Record<string, UniqueKey> = {
  users_pkey: { table: 'users', columns: 'id', field: 'id', message: 'a user with this id exists' },
  users_username_unique: {
    table: 'users',
    columns: 'username',
    field: 'username',
    message: 'the username is taken',
  },
  rooms_pkey: { table: 'rooms', columns: 'id', field: 'id', message: 'a room with this id exists' },
  rooms_name_unique: { table: 'rooms', columns: 'name', field: 'name', message: 'the room name is taken' },
  // Since 0008 only channel names are unique (MariaDB/MySQL index a generated column of channel names).
  rooms_channel_name_unique: {
    table: 'rooms',
    columns: 'name',
    field: 'name',
    message: 'a channel with this name exists',
  },
  rooms_direct_key_unique: {
    table: 'rooms',
    columns: 'direct_key',
    field: 'directKey',
    message: 'a direct room between these users exists',
  },
  memberships_pkey: {
    table: 'memberships',
    columns: 'room_id,user_id',
    field: 'userId',
    message: 'the user is already a member of the room',
  },
  messages_pkey: { table: 'messages', columns: 'id', field: 'id', message: 'a message with this id exists' },
  messages_author_client_message_id_unique: {
    table: 'messages',
    columns: 'author_id,client_message_id',
    field: 'clientMessageId',
    message: 'the author already sent a message with this client message id',
  },
  reactions_pkey: {
    table: 'reactions',
    columns: 'message_id,emoji,user_id',
    field: 'emoji',
    message: 'the user already reacted with this emoji',
  },
  room_events_pkey: {
    table: 'room_events',
    columns: 'room_id,seq',
    field: 'seq',
    message: 'the room already has an event with this sequence number',
  },
  projects_pkey: { table: 'projects', columns: 'id', field: 'id', message: 'a project with this id exists' },
  tickets_pkey: { table: 'tickets', columns: 'id', field: 'id', message: 'a ticket with this id exists' },
  files_pkey: { table: 'files', columns: 'id', field: 'id', message: 'a file with this id exists' },
  user_passwords_pkey: {
    table: 'user_passwords',
    columns: 'user_id',
    field: 'userId',
    message: 'the user already has a password',
  },
  refresh_tokens_pkey: {
    table: 'refresh_tokens',
    columns: 'id',
    field: 'id',
    message: 'a refresh token with this id exists',
  },
  refresh_tokens_token_hash_unique: {
    table: 'refresh_tokens',
    columns: 'token_hash',
    field: 'tokenHash',
    message: 'a refresh token with this hash exists',
  },
  api_keys_pkey: { table: 'api_keys', columns: 'id', field: 'id', message: 'an API key with this id exists' },
  api_keys_key_hash_unique: {
    table: 'api_keys',
    columns: 'key_hash',
    field: 'keyHash',
    message: 'an API key with this hash exists',
  },
};

interface DriverError {
  code?: unknown;
  errno?: unknown;
  constraint?: unknown;
  message?: unknown;
}

function sqliteKeyName(message: string): string | undefined {
  // "UNIQUE constraint failed: memberships.room_id, memberships.user_id"
  const match = /constraint failed: (.+)$/.exec(message);
  if (!match) return undefined;
  const qualified = match[1]!.split(', ');
  const table = qualified[0]!.split('.')[0];
  const columns = qualified.map((column) => column.slice(column.indexOf('.') + 1)).join(',');
  return Object.keys(UNIQUE_KEYS).find(
    (name) => UNIQUE_KEYS[name]!.table === table && UNIQUE_KEYS[name]!.columns === columns,
  );
}

/**
 * Whether `error` is a uniqueness violation, and if so which key it hit (e.g. `users_username_unique`;
 * `key` is undefined when the driver did not say).
 *
 * @param table the table written to: MariaDB only says 'PRIMARY' for a primary key.
 */
export function uniqueViolation(error: unknown, table: string): { key: string | undefined } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errno, constraint, message } = error as DriverError;
  if (code === '23505') return { key: typeof constraint === 'string' ? constraint : undefined };
  if (code === 'ER_DUP_ENTRY' || errno === 1062) {
    // "Duplicate entry '…' for key 'users_username_unique'"; MySQL 8 writes 'users.users_username_unique'.
    const key = /for key '([^']*)'$/.exec(String(message))?.[1];
    if (key === undefined) return { key: undefined };
    const name = key.slice(key.lastIndexOf('.') + 1);
    return { key: name === 'PRIMARY' ? `${table}_pkey` : name };
  }
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return { key: sqliteKeyName(String(message)) };
  }
  return undefined;
}

/**
 * `error` as a ConflictError naming the field when it is a uniqueness violation; otherwise `error` itself.
 *
 * @example
 * try { await insert(); } catch (error) { throw asConflictError(error, 'users'); }
 */
export function asConflictError(error: unknown, table: string): unknown {
  const violation = uniqueViolation(error, table);
  if (violation === undefined) return error;
  const key = violation.key === undefined ? undefined : UNIQUE_KEYS[violation.key];
  if (key === undefined)
    return new ConflictError(`a unique key of ${table} is taken`, undefined, { cause: error });
  return new ConflictError(key.message, key.field, { cause: error });
}
