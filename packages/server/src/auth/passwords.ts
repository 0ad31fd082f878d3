import { randomBytes, randomInt } from 'node:crypto';
import { ValidationError } from '@kaiwa/core';
import type { Options } from '@node-rs/argon2';

/** Shortest password accepted. */
export const MIN_PASSWORD_LENGTH = 10;
/** Longest password accepted; argon2 takes any length, but a cap keeps hashing cheap to refuse abuse. */
export const MAX_PASSWORD_LENGTH = 256;

/*
 * argon2id with the parameters OWASP recommends for it (19 MiB, 2 passes, 1 lane). The algorithm is a
 * `const enum` in @node-rs/argon2's types, which isolated modules cannot read, so its value is spelled here.
 */
const ARGON2ID = 2;
const HASH_OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/*
 * The argon2 addon loads with the first password hashed or checked, not with the server (issue 18: memory at
 * start). A restart of a server whose first admin exists hashes nothing until someone signs in.
 */
let argon2: Promise<typeof import('@node-rs/argon2')> | undefined;
const loadArgon2 = () => {
  argon2 ??= import('@node-rs/argon2');
  return argon2;
};

/** Hashes a password with argon2id; the result is a PHC string with its own salt and parameters. */
export async function hashPassword(password: string): Promise<string> {
  const { hash } = await loadArgon2();
  return hash(password.normalize('NFC'), HASH_OPTIONS);
}

/** Checks a password against a stored hash; a malformed hash is a mismatch, never an exception. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  // Outside the try: an addon that cannot load is an error, not a wrong password.
  const { verify } = await loadArgon2();
  try {
    return await verify(passwordHash, password.normalize('NFC'));
  } catch {
    return false;
  }
}

let decoyHash: Promise<string> | undefined;

/**
 * Spends as long as a real check, for sign-ins of unknown users, so response times do not tell which
 * usernames exist.
 */
export async function verifyDecoyPassword(password: string): Promise<void> {
  decoyHash ??= hashPassword(randomBytes(24).toString('base64url'));
  await verifyPassword(await decoyHash, password);
}

/**
 * The password policy: at least {@link MIN_PASSWORD_LENGTH} characters, at most {@link MAX_PASSWORD_LENGTH},
 * not the username (in any case, or reversed), and not one or two characters repeated.
 * @throws ValidationError on the field `field`.
 */
export function checkPasswordPolicy(password: string, username: string, field = 'newPassword'): void {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    throw ValidationError.field(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw ValidationError.field(field, `must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  const lower = password.toLowerCase();
  const name = username.toLowerCase();
  if (lower === name || lower === [...name].reverse().join('')) {
    throw ValidationError.field(field, 'must not be the username');
  }
  if (new Set(password).size < 3) {
    throw ValidationError.field(field, 'must not repeat one or two characters');
  }
}

const PASSWORD_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/**
 * A random one-time password: 20 characters from an alphabet without look-alikes (0/O, 1/l/I), about
 * 116 bits. People type it once and then choose their own.
 */
export function generateOneTimePassword(): string {
  let password = '';
  for (let index = 0; index < 20; index += 1)
    password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return password;
}
