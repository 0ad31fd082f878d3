export interface SignWebhookOptions {
  secret: string;
  /** Unix time in seconds when the request was sent. */
  timestamp: number | string;
  /** The raw request body, exactly as sent. */
  body: string;
  /**
   * The sender's id of this delivery (`x-kaiwa-delivery`). When signed, a retry of the same delivery with a
   * new timestamp is still recognised as the same delivery and starts nothing twice.
   */
  deliveryId?: string | undefined;
}

export interface VerifyWebhookOptions extends SignWebhookOptions {
  /** Hex HMAC-SHA256, with or without a `sha256=` prefix. */
  signature: string;
  /** Milliseconds since the epoch; defaults to now. */
  now?: number;
  /** How far the timestamp may lie from now, either way. */
  toleranceSeconds?: number;
}

export type WebhookVerification =
  | {
      ok: true;
      /**
       * What identifies this delivery for replay checks, always from signed content: `delivery:<id>` when
       * the signature covers the delivery id, otherwise `sig:<signature>` (which covers timestamp and body).
       * An unsigned delivery header never decides it: anyone can change a header.
       */
      replayKey: string;
    }
  | { ok: false; reason: 'malformed' | 'stale' | 'bad_signature'; message: string };

/**
 * The signature a sender puts on a webhook: hex HMAC-SHA256 with the shared secret over
 * `${timestamp}.${body}`, or `${timestamp}.${deliveryId}.${body}` when the sender names the delivery.
 * Signing the timestamp means an old request cannot be re-sent with a new one. Web Crypto computes it, so
 * it is asynchronous and runs wherever `crypto.subtle` does (Node, Deno, Bun, browsers, workers).
 *
 * @example
 * const timestamp = Math.floor(Date.now() / 1000);
 * const signature = await signWebhook({ secret, timestamp, body });
 * await fetch(url, { method: 'POST', body, headers: { 'x-kaiwa-timestamp': `${timestamp}`, 'x-kaiwa-signature': signature } });
 */
export async function signWebhook(options: SignWebhookOptions): Promise<string> {
  const key = await hmacKey(options.secret, 'sign');
  const mac = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, signedContent(options)));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

const encoder = new TextEncoder();

/** What the signature covers: `${timestamp}.${body}`, or `${timestamp}.${deliveryId}.${body}`. */
function signedContent(options: Omit<SignWebhookOptions, 'secret'>): Uint8Array<ArrayBuffer> {
  return encoder.encode(
    options.deliveryId === undefined
      ? `${options.timestamp}.${options.body}`
      : `${options.timestamp}.${options.deliveryId}.${options.body}`,
  );
}

/**
 * The secret as an HMAC-SHA256 key. Web Crypto refuses an empty key; HMAC pads every key with zero bytes to
 * its block size, so one zero byte is the same key as none (and signatures match Node's createHmac).
 */
function hmacKey(secret: string, usage: 'sign' | 'verify') {
  const bytes = secret === '' ? new Uint8Array(1) : encoder.encode(secret);
  return globalThis.crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index += 1) {
    bytes[index] = Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * Checks a webhook's signature (constant-time, by Web Crypto's `verify`) and that its timestamp lies within `toleranceSeconds`
 * (300 by default) of now, in the past or the future. Replays inside that window are the caller's to refuse,
 * by the `replayKey` it returns (`WorkflowRepository.recordWebhookDelivery`). With a `deliveryId`, both the
 * plain and the delivery-signed form are accepted.
 *
 * @example
 * const check = await verifyWebhookSignature({ secret, timestamp, signature, body });
 * if (!check.ok) return reply.code(401).send({ error: check.reason });
 */
export async function verifyWebhookSignature(options: VerifyWebhookOptions): Promise<WebhookVerification> {
  const { secret, body, toleranceSeconds = 300 } = options;
  const timestamp = String(options.timestamp);
  if (!/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: 'malformed', message: 'timestamp must be Unix seconds' };
  const signature = options.signature.startsWith('sha256=') ? options.signature.slice(7) : options.signature;
  if (!HEX_SHA256.test(signature))
    return { ok: false, reason: 'malformed', message: 'signature must be 64 hex characters' };
  const now = options.now ?? Date.now();
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceSeconds)
    return {
      ok: false,
      reason: 'stale',
      message: `timestamp is more than ${toleranceSeconds} s away from now`,
    };
  const given = hexBytes(signature);
  const key = await hmacKey(secret, 'verify');
  const { subtle } = globalThis.crypto;
  const { deliveryId } = options;
  if (deliveryId !== undefined) {
    const content = signedContent({ timestamp, body, deliveryId });
    if (await subtle.verify('HMAC', key, given, content))
      return { ok: true, replayKey: `delivery:${deliveryId}` };
  }
  if (!(await subtle.verify('HMAC', key, given, signedContent({ timestamp, body }))))
    return { ok: false, reason: 'bad_signature', message: 'signature does not match' };
  return { ok: true, replayKey: `sig:${signature.toLowerCase()}` };
}
