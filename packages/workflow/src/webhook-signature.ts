import { createHmac, timingSafeEqual } from 'node:crypto';

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
 * Signing the timestamp means an old request cannot be re-sent with a new one.
 *
 * @example
 * const timestamp = Math.floor(Date.now() / 1000);
 * const signature = signWebhook({ secret, timestamp, body });
 * await fetch(url, { method: 'POST', body, headers: { 'x-kaiwa-timestamp': `${timestamp}`, 'x-kaiwa-signature': signature } });
 */
export function signWebhook(options: SignWebhookOptions): string {
  const signed =
    options.deliveryId === undefined
      ? `${options.timestamp}.${options.body}`
      : `${options.timestamp}.${options.deliveryId}.${options.body}`;
  return createHmac('sha256', options.secret).update(signed).digest('hex');
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * Checks a webhook's signature (constant-time) and that its timestamp lies within `toleranceSeconds`
 * (300 by default) of now, in the past or the future. Replays inside that window are the caller's to refuse,
 * by the `replayKey` it returns (`WorkflowRepository.recordWebhookDelivery`). With a `deliveryId`, both the
 * plain and the delivery-signed form are accepted.
 *
 * @example
 * const check = verifyWebhookSignature({ secret, timestamp, signature, body });
 * if (!check.ok) return reply.code(401).send({ error: check.reason });
 */
export function verifyWebhookSignature(options: VerifyWebhookOptions): WebhookVerification {
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
  const given = Buffer.from(signature, 'hex');
  const { deliveryId } = options;
  if (deliveryId !== undefined) {
    const withDelivery = Buffer.from(signWebhook({ secret, timestamp, body, deliveryId }), 'hex');
    if (timingSafeEqual(withDelivery, given)) return { ok: true, replayKey: `delivery:${deliveryId}` };
  }
  const expected = Buffer.from(signWebhook({ secret, timestamp, body }), 'hex');
  if (!timingSafeEqual(expected, given))
    return { ok: false, reason: 'bad_signature', message: 'signature does not match' };
  return { ok: true, replayKey: `sig:${signature.toLowerCase()}` };
}
