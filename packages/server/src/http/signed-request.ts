import { createHash, createHmac, randomBytes } from 'node:crypto';

/*
 * Kaiwa request signatures, version 1 (docs/security.md). Shared by the server's verifier and the client
 * helper, so both build exactly the same string to sign:
 *
 *   KAIWA-HMAC-SHA256-V1 \n METHOD \n /path \n sorted&query \n timestamp \n nonce \n hex(sha256(body))
 *
 * Multipart uploads sign the body line as `UNSIGNED-PAYLOAD` (as AWS SigV4 allows): the server streams
 * them to storage and cannot hash them before the handler runs.
 */

export const SIGNATURE_ALGORITHM = 'KAIWA-HMAC-SHA256-V1';
/** The body line of a multipart request. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** How far a signature's timestamp may be from the server's clock. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export const SIGNATURE_HEADERS = {
  key: 'x-kaiwa-signature-key',
  timestamp: 'x-kaiwa-signature-timestamp',
  nonce: 'x-kaiwa-signature-nonce',
  signature: 'x-kaiwa-signature',
} as const;

/** The query as signed: `a=1&b=2`, its parts sorted as sent (not decoded), empty parts left out. */
export function canonicalQuery(query: string): string {
  return query
    .replace(/^\?/, '')
    .split('&')
    .filter((part) => part.length > 0)
    .sort()
    .join('&');
}

export function sha256Hex(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The string both sides sign. `target` is the path and query as sent, e.g. `/api/v1/users?limit=5`. */
export function stringToSign(parts: {
  method: string;
  target: string;
  timestamp: string;
  nonce: string;
  bodyHash: string;
}): string {
  const question = parts.target.indexOf('?');
  const path = question === -1 ? parts.target : parts.target.slice(0, question);
  const query = question === -1 ? '' : parts.target.slice(question + 1);
  return [
    SIGNATURE_ALGORITHM,
    parts.method.toUpperCase(),
    path,
    canonicalQuery(query),
    parts.timestamp,
    parts.nonce,
    parts.bodyHash,
  ].join('\n');
}

/** `v1=` and the hex HMAC-SHA256 of the string to sign, keyed with the signing secret. */
export function signatureOf(secret: string, text: string): string {
  return `v1=${createHmac('sha256', secret).update(text, 'utf8').digest('hex')}`;
}

export interface SignRequestInput {
  /** The signing key's id (`apiKey.id` when it was created). */
  keyId: string;
  /** The secret shown once when the key was created (`kss_…`). */
  secret: string;
  method: string;
  /** The URL or the path with its query, exactly as it will be sent. */
  url: string;
  /** The exact body bytes that will be sent; omit for none. Pass `multipart: true` for uploads instead. */
  body?: string | Uint8Array;
  multipart?: boolean;
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  /** Unique per request; defaults to 128 random bits. */
  nonce?: string;
}

/**
 * The headers that sign one request with a Kaiwa signing key. Send them with no `Authorization` or
 * `X-Api-Key` header: the signature is the credential.
 *
 * @example
 * const body = JSON.stringify({ username: 'carol', role: 'member' });
 * const headers = signRequest({ keyId, secret, method: 'POST', url: `${base}/api/v1/users`, body });
 * await fetch(`${base}/api/v1/users`, { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } });
 */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const timestamp = String(input.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = input.nonce ?? randomBytes(16).toString('base64url');
  const target = /^https?:\/\//i.test(input.url)
    ? (() => {
        const parsed = new URL(input.url);
        return `${parsed.pathname}${parsed.search}`;
      })()
    : input.url;
  const bodyHash = input.multipart ? UNSIGNED_PAYLOAD : sha256Hex(input.body ?? '');
  const text = stringToSign({ method: input.method, target, timestamp, nonce, bodyHash });
  return {
    [SIGNATURE_HEADERS.key]: input.keyId,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: signatureOf(input.secret, text),
  };
}
