/**
 * The process that runs whisper.cpp for `WhisperCppTranscriber`, started with `child_process.fork`: a bad
 * model file or a whisper.cpp assertion aborts this process, never the server. It imports only Node and
 * `@napi-rs/whisper`, so it runs the same from `src` (through tsx) and from `dist`.
 *
 * Protocol (IPC, advanced serialization): the model path is `argv[2]`; the child answers `ready` or
 * `load-failed` once, then one `transcribed` or `failed` per `transcribe`, one at a time (whisper.cpp's
 * `full` blocks this thread, which is why the parent kills the process to stop a call).
 */
import type { Segment, Whisper as WhisperContext } from '@napi-rs/whisper';

/** Parent → child. */
export interface TranscribeMessage {
  type: 'transcribe';
  id: number;
  /** Mono 16 kHz. */
  samples: Float32Array;
  /** A Whisper language code, or `'auto'`. */
  language: string;
  prompt: string | undefined;
  threads: number;
}

/** Child → parent. Segment times are whisper.cpp's, in hundredths of a second. */
export type ChildMessage =
  | { type: 'ready'; multilingual: boolean }
  | { type: 'load-failed'; message: string }
  | { type: 'transcribed'; id: number; text: string; segments: Segment[]; language: string | undefined }
  | { type: 'failed'; id: number; message: string };

const send = (message: ChildMessage) => process.send?.(message);
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

// Without the parent there is nothing to answer: leave instead of holding the model in memory.
process.on('disconnect', () => process.exit(0));

async function main(): Promise<void> {
  const modelPath = process.argv[2] ?? '';
  let whisper: typeof import('@napi-rs/whisper');
  let context: WhisperContext;
  try {
    whisper = await import('@napi-rs/whisper');
    context = new whisper.Whisper(modelPath);
  } catch (error) {
    send({ type: 'load-failed', message: messageOf(error) });
    process.disconnect?.();
    return;
  }
  const multilingual = context.isMultilingual !== 0;
  process.on('message', (message: TranscribeMessage) => {
    if (message.type !== 'transcribe') return;
    transcribe(whisper, context, multilingual, message).then(send, (error: unknown) =>
      send({ type: 'failed', id: message.id, message: messageOf(error) }),
    );
  });
  send({ type: 'ready', multilingual });
}

async function transcribe(
  whisper: typeof import('@napi-rs/whisper'),
  context: WhisperContext,
  multilingual: boolean,
  message: TranscribeMessage,
): Promise<ChildMessage> {
  const params = new whisper.WhisperFullParams(whisper.WhisperSamplingStrategy.Greedy);
  params.nThreads = message.threads;
  params.noContext = true;
  params.language = multilingual ? message.language : 'en';
  if (message.prompt) params.initialPrompt = message.prompt;
  const segments: Segment[] = [];
  params.onNewSegment = (segment) => segments.push(segment);
  const text = context.full(params, message.samples);
  // `full` blocks this thread, so the segments it reported are still queued: wait until they spell the text.
  const letters = (value: string) => value.replace(/\s+/g, '');
  for (let turn = 0; turn < 200 && letters(segments.map((s) => s.text).join('')) !== letters(text); turn++) {
    await new Promise((resolve) => setTimeout(resolve, turn < 20 ? 0 : 5));
  }
  const languageId = context.fullLangId;
  const language = multilingual ? (whisper.Whisper.lang(languageId) ?? undefined) : 'en';
  return { type: 'transcribed', id: message.id, text, segments, language };
}

main().catch((error: unknown) => {
  send({ type: 'load-failed', message: messageOf(error) });
  process.exit(1);
});
