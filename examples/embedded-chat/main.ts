import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { runEmbeddedChat } from './chat.js';

// Kaiwa embedded in a script: core + SQLite, no server. The database file persists between runs.
const filename = resolve(process.env.KAIWA_SQLITE_FILE ?? '.data/embedded-chat.sqlite');
mkdirSync(dirname(filename), { recursive: true });

const store = await createSqliteStore({ filename });
try {
  const { applied } = await store.migrate();
  console.log(
    `Kaiwa embedded chat on SQLite at ${filename}${applied.length ? ` (migrated: ${applied.join(', ')})` : ''}`,
  );
  for (const line of await runEmbeddedChat(store)) console.log(line);
} finally {
  await store.close();
}
