import { createHash, hkdfSync, timingSafeEqual } from 'node:crypto';
import { Transform } from 'node:stream';
import {
  type ApiKeyRecord,
  type ChatStore,
  createId,
  ForbiddenError,
  IdSchema,
  NotFoundError,
  type User,
} from '@kaiwa/core';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import type { ApiInstance } from '../routes/route-context.js';
import { ApiKeySchema, errorResponses, UserParamsSchema } from './api-schemas.js';
import { credentialOf, requireUser } from './authentication.js';
import { HttpError } from './http-error.js';
import {
  SIGNATURE_HEADERS,
  SIGNATURE_TOLERANCE_SECONDS,
  sha256Hex,
  signatureOf,
  stringToSign,
  UNSIGNED_PAYLOAD,
} from './signed-request.js';

/*
 * HMAC request signing (docs/security.md, ADR 0004's sibling section): signing keys, the verifying hooks
 * and the replay cache.
 */

/** Who must sign: every admin-only route (`admin`), every request of a bot (`bot`). */
export type SignedRequestRequirement = 'admin' | 'bot';

/** Remembers nonces until their signatures could no longer pass the timestamp check anyway. */
export interface NonceStore {
  /** True the first time `key` is claimed within `ttlMs`, false for a replay. */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

/** Nonces in this process: enough for one instance, and the fallback while Redis is away. */
export class InMemoryNonceStore implements NonceStore {
  readonly #expiries = new Map<string, number>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = this.#clock();
    const expiry = this.#expiries.get(key);
    if (expiry !== undefined && expiry > now) return false;
    // Insertion order is expiry order (one TTL for all), so expired nonces are swept from the front.
    for (const [old, oldExpiry] of this.#expiries) {
      if (oldExpiry > now) break;
      this.#expiries.delete(old);
    }
    this.#expiries.delete(key);
    this.#expiries.set(key, now + ttlMs);
    return true;
  }
}

/** What the nonce store needs of ioredis. */
export interface RedisNonceClient {
  set(key: string, value: string, px: 'PX', ttl: number, nx: 'NX'): Promise<'OK' | null>;
}

/**
 * Nonces in Redis (`SET key 1 PX ttl NX`), shared by every instance on the bus. Each claim is also made in
 * memory, so while Redis is unreachable replays to the same instance are still refused (`onError` hears
 * about the outage).
 */
export class RedisNonceStore implements NonceStore {
  readonly #redis: RedisNonceClient;
  readonly #prefix: string;
  readonly #local = new InMemoryNonceStore();
  readonly #onError: (error: unknown) => void;

  constructor(redis: RedisNonceClient, options: { prefix: string; onError?: (error: unknown) => void }) {
    this.#redis = redis;
    this.#prefix = options.prefix;
    this.#onError = options.onError ?? (() => {});
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const local = await this.#local.claim(key, ttlMs);
    try {
      const shared = await this.#redis.set(`${this.#prefix}${key}`, '1', 'PX', ttlMs, 'NX');
      return local && shared === 'OK';
    } catch (error) {
      this.#onError(error);
      return local;
    }
  }
}

/**
 * The nonce store for a server: Redis when the bus gave one (an ioredis client), memory otherwise.
 *
 * @example const nonces = nonceStore(shared.rateLimitRedis, 'kaiwa:signature-nonce:', log);
 */
export function nonceStore(redis: unknown, prefix: string, onError: (error: unknown) => void): NonceStore {
  return redis
    ? new RedisNonceStore(redis as RedisNonceClient, { prefix, onError })
    : new InMemoryNonceStore();
}

export interface RequestSigningOptions {
  store: Pick<ChatStore, 'accounts' | 'users'>;
  /** The server secret signing keys are derived from (the access-token secret). */
  serverSecret: Uint8Array;
  requirements: readonly SignedRequestRequirement[];
  nonces?: NonceStore;
  clock?: () => Date;
}

/** A signing key as its creator gets it: the secret is in this answer only. */
export interface CreatedSigningKey {
  apiKey: ApiKeyRecord;
  secret: string;
}

interface SignedState {
  keyId: string;
  secret: string;
  timestamp: string;
  nonce: string;
  signature: string;
  multipart: boolean;
  hash: ReturnType<typeof createHash> | undefined;
  bodyBytes: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set while a signed request is being verified; `verified` once its signature checked out. */
    signedRequest: { keyId: string; verified: boolean } | null;
  }
}

const SIGNING_SECRET_PREFIX = 'kss_';
const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
const SIGNATURE_PATTERN = /^v1=[0-9a-f]{64}$/;

/**
 * Signed requests for critical endpoints. Guarantees:
 * - A signing key's secret is never stored: it is derived as HKDF-SHA256(server secret, key id), so the
 *   server can recompute it to verify, and only a hash of it sits in `api_keys` (a hash that no bearer key
 *   can match, so a signing secret never works as an API key). Rotating the server secret retires every
 *   signing key.
 * - A signed request is authenticated by its key alone (no bearer credential with it), and it reaches its
 *   handler only after the signature over method, path, sorted query, timestamp, nonce and the SHA-256 of the
 *   exact body bytes checked out in constant time; timestamps more than five minutes off, and nonces seen
 *   within ten minutes, are refused.
 * - Any number of keys of one user are valid at once, so a key is rotated by creating the next one, switching,
 *   then revoking the old one (DELETE /users/:userId/api-keys/:apiKeyId).
 * - With requirements set, unsigned calls are refused before their body is read.
 *
 * @example
 * const signing = new RequestSigning({ store, serverSecret: secret, requirements: ['admin', 'bot'] });
 * installRequestSigning(routes, signing); // before installAuthentication
 */
export class RequestSigning {
  readonly #store: Pick<ChatStore, 'accounts' | 'users'>;
  readonly #serverSecret: Uint8Array;
  readonly #requirements: ReadonlySet<SignedRequestRequirement>;
  readonly #nonces: NonceStore;
  readonly #clock: () => Date;

  constructor(options: RequestSigningOptions) {
    this.#store = options.store;
    this.#serverSecret = options.serverSecret;
    this.#requirements = new Set(options.requirements);
    this.#clock = options.clock ?? (() => new Date());
    this.#nonces = options.nonces ?? new InMemoryNonceStore(() => this.#clock().getTime());
  }

  /**
   * Makes a signing key for a bot, or for the admin who asks for their own.
   *
   * @example const { apiKey, secret } = await signing.createSigningKey(admin, bot.id, 'deploy');
   */
  async createSigningKey(creator: User, userId: string, name: string): Promise<CreatedSigningKey> {
    const owner = await this.#store.users.findById(userId);
    if (!owner || owner.deactivatedAt) throw new NotFoundError('user', userId);
    if (owner.role !== 'bot' && owner.id !== creator.id) {
      throw new ForbiddenError('create signing key', 'signing keys are for bots, or for admins themselves');
    }
    if (owner.role !== 'bot' && owner.role !== 'admin') {
      throw new ForbiddenError('create signing key', 'signing keys are for bots and admins');
    }
    const id = createId();
    const secret = this.#secretOf(id);
    const apiKey: ApiKeyRecord = {
      id,
      userId: owner.id,
      name,
      keyHash: signingKeyHash(secret),
      createdAt: this.#clock().toISOString(),
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.#store.accounts.insertApiKey(apiKey);
    return { apiKey, secret };
  }

  /** Whether the caller of this route must sign (see the requirements). */
  requiresSignature(request: FastifyRequest): boolean {
    if (this.#requirements.has('bot') && request.user?.role === 'bot') return true;
    const roles = request.routeOptions.config?.roles;
    return this.#requirements.has('admin') && roles?.length === 1 && roles[0] === 'admin';
  }

  /** The first hook: reads the signature headers and resolves the key to its user. */
  async authenticate(request: FastifyRequest): Promise<SignedState | undefined> {
    const headers = request.headers;
    // The key header marks a signed request: `X-Kaiwa-Signature` alone is an incoming workflow webhook's
    // own signature (docs/workflows.md), checked by its route.
    if (headers[SIGNATURE_HEADERS.key] === undefined) return undefined;
    if (credentialOf(request) !== undefined) {
      throw badSignature('send either a signature or a bearer token or API key, not both');
    }
    const keyId = header(request, SIGNATURE_HEADERS.key);
    const timestamp = header(request, SIGNATURE_HEADERS.timestamp);
    const nonce = header(request, SIGNATURE_HEADERS.nonce);
    const signature = header(request, SIGNATURE_HEADERS.signature);
    if (!IdSchema.safeParse(keyId).success) throw badSignature(`${SIGNATURE_HEADERS.key} must be a key id`);
    if (!/^\d{1,12}$/.test(timestamp)) {
      throw badSignature(`${SIGNATURE_HEADERS.timestamp} must be Unix time in seconds`);
    }
    if (!NONCE_PATTERN.test(nonce)) {
      throw badSignature(`${SIGNATURE_HEADERS.nonce} must be 16–128 characters of A–Z, a–z, 0–9, _ and -`);
    }
    if (!SIGNATURE_PATTERN.test(signature)) {
      throw badSignature(`${SIGNATURE_HEADERS.signature} must be v1= and 64 hex digits`);
    }
    const skew = Math.abs(this.#clock().getTime() / 1000 - Number(timestamp));
    if (skew > SIGNATURE_TOLERANCE_SECONDS) {
      throw new HttpError(
        401,
        'stale_signature',
        `the signature's timestamp is ${Math.round(skew)} s away from the server's clock (at most ${SIGNATURE_TOLERANCE_SECONDS} s)`,
      );
    }
    const secret = this.#secretOf(keyId);
    const key = await this.#store.accounts.findApiKey(signingKeyHash(secret));
    const user =
      key && key.id === keyId && key.revokedAt === null
        ? await this.#store.users.findById(key.userId)
        : undefined;
    if (!user || user.deactivatedAt || (user.role !== 'bot' && user.role !== 'admin')) {
      throw badSignature('unknown or revoked signing key');
    }
    const multipart = /^multipart\/form-data\b/i.test(String(headers['content-type'] ?? ''));
    request.user = user;
    request.credential = 'api_key';
    request.signedRequest = { keyId, verified: false };
    return { keyId, secret, timestamp, nonce, signature, multipart, hash: undefined, bodyBytes: 0 };
  }

  /** The last hook before validation: checks the signature over the body that was read, then the nonce. */
  async verify(request: FastifyRequest, state: SignedState): Promise<void> {
    const bodyHash = state.multipart ? UNSIGNED_PAYLOAD : (state.hash?.digest('hex') ?? sha256Hex(''));
    const expected = signatureOf(
      state.secret,
      stringToSign({
        method: request.method,
        target: request.url,
        timestamp: state.timestamp,
        nonce: state.nonce,
        bodyHash,
      }),
    );
    const given = Buffer.from(state.signature);
    const wanted = Buffer.from(expected);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw badSignature(
        'the signature does not match the request (method, path, query, body, timestamp or nonce)',
      );
    }
    // After the signature: only requests the key's holder made can fill the nonce cache.
    const fresh = await this.#nonces.claim(
      `${state.keyId}:${state.nonce}`,
      2 * SIGNATURE_TOLERANCE_SECONDS * 1000,
    );
    if (!fresh)
      throw new HttpError(401, 'replayed_request', 'this nonce was already used; sign each request anew');
    if (request.signedRequest) request.signedRequest.verified = true;
  }

  #secretOf(keyId: string): string {
    const derived = hkdfSync('sha256', this.#serverSecret, 'kaiwa-request-signing-v1', keyId, 32);
    return `${SIGNING_SECRET_PREFIX}${Buffer.from(derived).toString('base64url')}`;
  }
}

/** What `api_keys.key_hash` holds for a signing key: never equal to the hash of a bearer key. */
function signingKeyHash(secret: string): string {
  return createHash('sha256').update(`signing:${secret}`, 'utf8').digest('hex');
}

function header(request: FastifyRequest, name: string): string {
  const value = request.headers[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw badSignature(`a signed request needs the ${name} header (once)`);
  }
  return value;
}

function badSignature(message: string): HttpError {
  return new HttpError(401, 'bad_signature', message);
}

const states = new WeakMap<FastifyRequest, SignedState>();

/**
 * Installs the signing hooks in the API scope; call it before `installAuthentication`, whose hook then finds
 * the signed request's user already set. JSON, YAML and raw bodies are hashed as they stream into their
 * parser (a `preParsing` hook), so nothing is buffered twice; multipart bodies stay a stream for the handler.
 *
 * @example installRequestSigning(routes, signing);
 */
export function installRequestSigning(scope: ApiInstance, signing: RequestSigning): void {
  scope.decorateRequest('signedRequest', null);
  scope.addHook('onRequest', async (request) => {
    const state = await signing.authenticate(request);
    if (state) states.set(request, state);
  });
  scope.addHook('preParsing', async (request, _reply, payload) => {
    const state = states.get(request);
    if (!state) {
      if (signing.requiresSignature(request)) {
        throw new HttpError(
          401,
          'signature_required',
          'this endpoint takes signed requests only (docs/security.md)',
        );
      }
      return payload;
    }
    if (state.multipart) return payload;
    const hash = createHash('sha256');
    state.hash = hash;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        state.bodyBytes += chunk.length;
        done(null, chunk);
      },
    });
    payload.on('error', (error) => hashing.destroy(error));
    // The bytes pass unchanged, so Fastify's content-length check still holds.
    return payload.pipe(hashing);
  });
  scope.addHook('preValidation', async (request) => {
    const state = states.get(request);
    if (state) await signing.verify(request, state);
  });
}

/**
 * `POST /users/:userId/signing-keys`: an admin makes a signing key for a bot or for themselves; the secret is
 * in the answer only. Keys are listed and revoked with the user's other API keys.
 */
export function registerSigningKeyRoutes(app: ApiInstance, signing: RequestSigning, audit: AuditLog): void {
  app.post(
    '/users/:userId/signing-keys',
    {
      config: { roles: ['admin'], access: { admin: ['mine'] } },
      schema: {
        tags: ['users'],
        summary: 'Create a signing key for a bot, or for yourself (admins); the secret is shown only here',
        description:
          'Sign requests with it instead of sending a bearer credential (docs/security.md): headers ' +
          '`X-Kaiwa-Signature-Key` (the key id), `-Timestamp`, `-Nonce` and `X-Kaiwa-Signature`. List and revoke ' +
          'it under /users/{userId}/api-keys.',
        params: UserParamsSchema,
        body: z.object({ name: z.string().trim().min(1).max(64) }),
        response: {
          201: z.object({
            apiKey: ApiKeySchema,
            keyId: z.string().describe('send as X-Kaiwa-Signature-Key'),
            secret: z.string().describe('the HMAC key; shown only in this answer'),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const creator = requireUser(request);
      const { apiKey, secret } = await audit.around(
        {
          action: 'api_key.created',
          actorId: creator.id,
          details: { userId: request.params.userId, name: request.body.name, signing: true },
          request,
        },
        () => signing.createSigningKey(creator, request.params.userId, request.body.name),
        (created) => ({ target: { type: 'api_key', id: created.apiKey.id } }),
      );
      const { keyHash: _keyHash, ...shown } = apiKey;
      return reply.status(201).send({ apiKey: shown, keyId: apiKey.id, secret });
    },
  );
}
