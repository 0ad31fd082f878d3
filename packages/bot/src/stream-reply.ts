import type {
  PlatformAdapter,
  PlatformMessageRef,
  PlatformOutboundMessage,
  PlatformTarget,
} from '@kaiwa/core';

export interface StreamReplyOptions {
  /** Edit the message in place at most this often. Default 500 ms. */
  editIntervalMs?: number;
  /** …or as soon as this many new characters arrived. Default 400. */
  editEveryChars?: number;
  /** Shown after the text while it is still coming. Default ` …`. */
  pendingSuffix?: string;
}

/**
 * Posts text that arrives in pieces. Where the platform edits messages, the reply appears with the first
 * piece and is edited in place as more arrive (throttled, so a fast model does not hit rate limits); the
 * last edit holds the whole text. Elsewhere the text is posted once, when complete.
 *
 * @example
 * await streamReply(slack, { channelId: 'C1' }, {}, model.streamText(prompt));
 */
export async function streamReply(
  adapter: PlatformAdapter,
  target: PlatformTarget,
  base: Omit<PlatformOutboundMessage, 'text'>,
  pieces: AsyncIterable<string>,
  options: StreamReplyOptions = {},
): Promise<PlatformMessageRef[]> {
  const intervalMs = options.editIntervalMs ?? 500;
  const everyChars = options.editEveryChars ?? 400;
  const suffix = options.pendingSuffix ?? ' …';
  const limit = adapter.capabilities.maxTextLength;
  let text = '';
  if (!adapter.capabilities.edit) {
    for await (const piece of pieces) text += piece;
    return text.trim() === '' ? [] : adapter.send(target, { ...base, text });
  }

  let refs: PlatformMessageRef[] | undefined;
  let shown = '';
  let shownAt = 0;
  for await (const piece of pieces) {
    text += piece;
    if (text.trim() === '') continue;
    // Past the platform's limit the in-place message stops growing; the end posts the rest properly.
    if (text.length + suffix.length > limit) continue;
    if (!refs) {
      refs = await adapter.send(target, { ...base, text: text + suffix });
      shown = text;
      shownAt = Date.now();
    } else if (Date.now() - shownAt >= intervalMs || text.length - shown.length >= everyChars) {
      await adapter.edit(refs[0]!, { text: text + suffix });
      shown = text;
      shownAt = Date.now();
    }
  }
  if (!refs) return text.trim() === '' ? [] : adapter.send(target, { ...base, text });
  if (text.length > limit) {
    // Too long for one message: the adapter splits a fresh send; the partial one goes.
    await adapter.delete(refs[0]!);
    return adapter.send(target, { ...base, text });
  }
  await adapter.edit(refs[0]!, { text });
  return refs;
}
