import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** File in the data directory that keeps the generated signing secret. */
export const TOKEN_SECRET_FILE = 'jwt-secret';

/**
 * The secret that signs access tokens: the configured one, or one generated on first start and kept in
 * `<dataDirectory>/jwt-secret` (mode 0600), so tokens stay valid across restarts.
 *
 * @returns the secret and where it came from.
 */
export function loadTokenSecret(
  configured: string | undefined,
  dataDirectory: string,
): { secret: Uint8Array; source: 'configuration' | 'file' | 'generated' } {
  if (configured) return { secret: new TextEncoder().encode(configured), source: 'configuration' };
  const path = join(dataDirectory, TOKEN_SECRET_FILE);
  const existing = readSecretFile(path);
  if (existing) return { secret: existing, source: 'file' };
  mkdirSync(dataDirectory, { recursive: true, mode: 0o700 });
  const generated = randomBytes(64).toString('base64url');
  try {
    // 'wx': if another process wrote it first, keep theirs.
    writeFileSync(path, `${generated}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
    const written = readSecretFile(path);
    if (written) return { secret: written, source: 'file' };
    throw error;
  }
  return { secret: new TextEncoder().encode(generated), source: 'generated' };
}

function readSecretFile(path: string): Uint8Array | undefined {
  let content: string;
  try {
    content = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
  if (content.length < 32) {
    throw new Error(
      `${path} holds a secret shorter than 32 characters; delete it to have a new one generated`,
    );
  }
  // A secret that others can read signs tokens others can forge: tighten it rather than refuse to start.
  if ((statSync(path).mode & 0o077) !== 0 && process.platform !== 'win32') chmodSync(path, 0o600);
  return new TextEncoder().encode(content);
}
