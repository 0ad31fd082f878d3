import type { ServerInfo } from '@kaiwa/protocol';
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatSize } from '../format';
import { useController } from '../hooks';
import { t } from '../i18n';
import { formatDuration, MAX_RECORDING_SECONDS, recordingFileName, VoiceRecording } from '../voice-recording';
import { describeError } from './common';

/*
 * The composer's microphone. With a mouse or the keyboard: click to record, then Send or Cancel (Escape).
 * On a touch screen: press and hold to record, release to send, slide away to cancel. While recording, a
 * bar over the composer shows the time and the input level. The recording is uploaded through the normal
 * upload path and sent as a message with the audio attachment; the server adds the transcript.
 */

/** A finger this far from where it pressed cancels on release. */
const CANCEL_DISTANCE_PX = 80;
/** A touch shorter than this is taken for a tap: a hint, not a recording. */
const SHORTEST_HOLD_S = 0.5;

type Phase = 'idle' | 'starting' | 'recording' | 'sending';

function isAllowed(mimeType: string, patterns: readonly string[]): boolean {
  const essence = mimeType.split(';')[0]!.trim().toLowerCase();
  const [type] = essence.split('/');
  return patterns.some((pattern) => pattern === essence || pattern === '*/*' || pattern === `${type}/*`);
}

function MicrophoneIcon() {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="18"
      height="18"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d="M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3z" />
      <path d="M19 10v2a7 7 0 0 1-14 0v-2" />
      <path d="M12 19v3" />
    </svg>
  );
}

export function VoiceRecorder({
  roomId,
  threadRootId,
  server,
}: {
  roomId: string;
  threadRootId?: string | undefined;
  server: Pick<ServerInfo, 'maxUploadBytes' | 'uploadAllowedTypes'>;
}) {
  const controller = useController();
  const [phase, setPhase] = useState<Phase>('idle');
  const [elapsed, setElapsed] = useState(0);
  const [level, setLevel] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [hint, setHint] = useState<string | null>(null);
  const [touch, setTouch] = useState(false);
  const [armedToCancel, setArmedToCancel] = useState(false);
  const recording = useRef<VoiceRecording | null>(null);
  const pending = useRef<Promise<VoiceRecording | null> | null>(null);
  /** Bumped by every start and cancel: a microphone that opens after a cancel is closed again. */
  const attempt = useRef(0);
  const pressedAt = useRef<{ x: number; y: number } | null>(null);
  const lastPointer = useRef<string>('mouse');
  const sendButton = useRef<HTMLButtonElement>(null);
  const micButton = useRef<HTMLButtonElement>(null);

  // Leaving the room (or the page) mid-recording throws the recording away and frees the microphone.
  useEffect(
    () => () => {
      attempt.current += 1;
      recording.current?.cancel();
      recording.current = null;
    },
    [roomId, threadRootId],
  );

  useEffect(() => {
    if (phase !== 'recording') return;
    const timer = setInterval(() => {
      const current = recording.current;
      if (!current) return;
      const seconds = current.elapsed();
      setElapsed(seconds);
      setLevel(current.level());
      if (seconds >= MAX_RECORDING_SECONDS) void finish(true);
    }, 100);
    return () => clearInterval(timer);
  });

  useEffect(() => {
    if (phase === 'recording' && !touch) sendButton.current?.focus();
  }, [phase, touch]);

  if (!server.uploadAllowedTypes.some((type) => type.startsWith('audio/') || type === '*/*')) return null;

  const start = (byTouch: boolean): Promise<VoiceRecording | null> => {
    setError(null);
    setHint(null);
    setTouch(byTouch);
    setArmedToCancel(false);
    setElapsed(0);
    setLevel(0);
    setPhase('starting');
    const mine = ++attempt.current;
    const started = VoiceRecording.start().then(
      (each) => {
        if (mine !== attempt.current) {
          each.cancel();
          return null;
        }
        recording.current = each;
        setPhase('recording');
        return each;
      },
      (caught: unknown) => {
        if (mine !== attempt.current) return null;
        setError(describeError(caught));
        setPhase('idle');
        return null;
      },
    );
    pending.current = started;
    return started;
  };

  const cancel = () => {
    attempt.current += 1;
    recording.current?.cancel();
    recording.current = null;
    setPhase('idle');
    setArmedToCancel(false);
    micButton.current?.focus();
  };

  async function finish(send: boolean): Promise<void> {
    const current = recording.current;
    recording.current = null;
    if (!current) return;
    if (!send) {
      current.cancel();
      setPhase('idle');
      return;
    }
    setPhase('sending');
    const seconds = current.elapsed();
    try {
      const blob = await current.stop();
      if (blob.size === 0) throw new Error(t('voice.empty'));
      if (blob.size > server.maxUploadBytes) {
        throw new Error(t('voice.tooLarge', { size: formatSize(server.maxUploadBytes) }));
      }
      if (!isAllowed(blob.type, server.uploadAllowedTypes)) {
        throw new Error(t('voice.typeRefused', { type: blob.type.split(';')[0] ?? '' }));
      }
      const file = new File([blob], recordingFileName(blob.type, new Date()), { type: blob.type });
      const record = await controller.upload(roomId, file);
      controller.send(roomId, `Voice message (${formatDuration(seconds)})`, {
        ...(threadRootId ? { threadRootId } : {}),
        attachments: [record],
      });
    } catch (caught) {
      setError(t('voice.notSent', { error: describeError(caught) }));
    } finally {
      setPhase('idle');
    }
  }

  const busy = phase === 'starting' || phase === 'sending';
  const active = phase === 'recording' || phase === 'starting';
  return (
    <>
      <button
        type="button"
        ref={micButton}
        class={`icon-button voice-record-button${active ? ' recording' : ''}`}
        aria-label={phase === 'sending' ? t('voice.sending') : t('voice.recordLong')}
        title={t('voice.record')}
        aria-busy={busy}
        disabled={phase === 'sending'}
        onContextMenu={(event) => event.preventDefault()}
        onPointerDown={(event) => {
          lastPointer.current = event.pointerType;
          if (event.pointerType === 'mouse' || phase !== 'idle') return;
          // Touch and pen: press and hold.
          event.preventDefault();
          try {
            // Keeps the finger's moves and release here when it slides off the button.
            event.currentTarget.setPointerCapture(event.pointerId);
          } catch {
            // Not an active pointer (a synthetic event): moves over the button still count.
          }
          pressedAt.current = { x: event.clientX, y: event.clientY };
          void start(true);
        }}
        onPointerMove={(event) => {
          const origin = pressedAt.current;
          if (!origin) return;
          setArmedToCancel(
            Math.hypot(event.clientX - origin.x, event.clientY - origin.y) > CANCEL_DISTANCE_PX,
          );
        }}
        onPointerUp={async (event) => {
          const origin = pressedAt.current;
          if (!origin) return;
          pressedAt.current = null;
          const away = Math.hypot(event.clientX - origin.x, event.clientY - origin.y) > CANCEL_DISTANCE_PX;
          const started = await pending.current;
          if (!started) return;
          if (away) {
            cancel();
          } else if (started.elapsed() < SHORTEST_HOLD_S) {
            cancel();
            setHint(t('voice.holdHint'));
          } else {
            await finish(true);
          }
        }}
        onPointerCancel={async () => {
          if (!pressedAt.current) return;
          pressedAt.current = null;
          if (await pending.current) cancel();
        }}
        onClick={() => {
          // Touch was handled by press and hold; a click is the mouse's or the keyboard's.
          if (lastPointer.current !== 'mouse' && lastPointer.current !== '') {
            lastPointer.current = '';
            return;
          }
          if (phase === 'idle') void start(false);
        }}
      >
        <MicrophoneIcon />
      </button>
      {active ? (
        <fieldset
          class={`voice-recording${armedToCancel ? ' cancelling' : ''}`}
          aria-label={t('voice.recording')}
          onKeyDown={(event) => {
            if (event.key === 'Escape') {
              event.preventDefault();
              event.stopPropagation();
              cancel();
            }
          }}
        >
          {touch ? null : (
            <button type="button" class="button small" onClick={cancel}>
              {t('common.cancel')}
            </button>
          )}
          <span class="voice-recording-dot" aria-hidden="true" />
          <span class="voice-recording-time" role="timer" aria-label={t('voice.recordingTime')}>
            {phase === 'starting' ? t('voice.starting') : formatDuration(elapsed)}
          </span>
          <span class="voice-level" aria-hidden="true">
            <span class="voice-level-fill" style={{ transform: `scaleX(${Math.max(0.02, level)})` }} />
          </span>
          {touch ? (
            <span class="voice-recording-hint" role="status">
              {armedToCancel ? t('voice.releaseToCancel') : t('voice.releaseToSend')}
            </span>
          ) : (
            <button
              type="button"
              ref={sendButton}
              class="button small primary voice-send"
              disabled={phase !== 'recording'}
              onClick={() => void finish(true)}
            >
              {t('voice.send')}
            </button>
          )}
        </fieldset>
      ) : null}
      {error || hint ? (
        <div class={`voice-notice${error ? ' error' : ''}`} role={error ? 'alert' : 'status'}>
          <span>{error ?? hint}</span>
          <button
            type="button"
            class="icon-button small"
            aria-label={t('common.dismiss')}
            onClick={() => {
              setError(null);
              setHint(null);
            }}
          >
            ×
          </button>
        </div>
      ) : null}
    </>
  );
}
