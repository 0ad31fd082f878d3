import type { MessageTranscript } from '@kaiwa/core';
import type { Attachment, Message, User } from '@kaiwa/protocol';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { t } from '../i18n';
import { computePeaks, describeDuration, formatDuration } from '../voice-recording';
import { describeError } from './common';

/*
 * A voice message (an audio attachment): play/pause, position and duration, and a waveform drawn from the
 * decoded audio; under it the transcript the server attaches (`metadata.transcript`), which follows
 * `message.updated` by itself because the message re-renders. The file is fetched with the token (an object
 * URL, once); the waveform is computed once per file and kept for the session. A recording the browser cannot
 * decode gets a plain bar instead, and the duration from the audio element.
 */

const BARS = 48;

interface Waveform {
  peaks: number[] | null;
  duration: number;
}

interface VoiceFile {
  /** An object URL of the bytes, for the audio element. */
  url: string;
  waveform: Promise<Waveform>;
}

/** Each voice file fetched once (with the token) and decoded once, for the session. */
const voiceFiles = new Map<string, Promise<VoiceFile>>();

async function decodeWaveform(blob: Blob): Promise<Waveform> {
  // An offline context decodes without asking to play sound (no autoplay warning, no audio device).
  const context = new OfflineAudioContext(1, 1, 44_100);
  const buffer = await context.decodeAudioData(await blob.arrayBuffer());
  const channels = Array.from({ length: buffer.numberOfChannels }, (_, index) =>
    buffer.getChannelData(index),
  );
  return { peaks: computePeaks(channels, BARS), duration: buffer.duration };
}

function useVoiceFile(fileId: string): {
  url: string | undefined;
  waveform: Waveform | null;
  failed: boolean;
} {
  const controller = useController();
  const [url, setUrl] = useState<string | undefined>(undefined);
  const [failed, setFailed] = useState(false);
  const [waveform, setWaveform] = useState<Waveform | null>(null);
  useEffect(() => {
    let request = voiceFiles.get(fileId);
    if (!request) {
      request = controller.rest.fileBlob(fileId).then((blob) => ({
        url: URL.createObjectURL(blob),
        waveform: decodeWaveform(blob).catch(() => ({ peaks: null, duration: Number.NaN })),
      }));
      request.catch(() => voiceFiles.delete(fileId));
      voiceFiles.set(fileId, request);
    }
    let live = true;
    request.then(
      (file) => {
        if (!live) return;
        setUrl(file.url);
        void file.waveform.then((answer) => live && setWaveform(answer));
      },
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [controller, fileId]);
  return { url, waveform, failed };
}

/** The player playing now: starting another pauses it. */
let playing: HTMLAudioElement | null = null;

export function VoicePlayer({ attachment }: { attachment: Attachment }) {
  const { url, waveform, failed } = useVoiceFile(attachment.fileId);
  const audioRef = useRef<HTMLAudioElement>(null);
  const [paused, setPaused] = useState(true);
  const [position, setPosition] = useState(0);
  const [elementDuration, setElementDuration] = useState(Number.NaN);
  const [error, setError] = useState<string | null>(null);
  // WebM from MediaRecorder carries no duration (the element says Infinity): the decoded one is right.
  const duration =
    waveform && Number.isFinite(waveform.duration) && waveform.duration > 0
      ? waveform.duration
      : elementDuration;
  const known = Number.isFinite(duration) && duration > 0;

  useEffect(() => {
    if (paused) return;
    // Smoother than timeupdate (4 a second) for the waveform's progress.
    let frame = requestAnimationFrame(function tick() {
      setPosition(audioRef.current?.currentTime ?? 0);
      frame = requestAnimationFrame(tick);
    });
    return () => cancelAnimationFrame(frame);
  }, [paused]);

  useEffect(
    () => () => {
      if (playing === audioRef.current) playing = null;
    },
    [],
  );

  const toggle = async () => {
    const audio = audioRef.current;
    if (!audio || !url) return;
    if (!audio.paused) return audio.pause();
    if (playing && playing !== audio) playing.pause();
    playing = audio;
    setError(null);
    try {
      if (known && audio.currentTime >= duration - 0.05) audio.currentTime = 0;
      await audio.play();
    } catch (caught) {
      setError(t('voice.cannotPlay', { error: describeError(caught) }));
    }
  };

  const seek = (seconds: number) => {
    const audio = audioRef.current;
    if (!audio || !known) return;
    const target = Math.min(Math.max(seconds, 0), duration);
    audio.currentTime = target;
    setPosition(target);
  };

  const progress = known ? Math.min(position / duration, 1) : 0;
  const peaks = waveform?.peaks;
  const name = attachment.name;
  return (
    <div class="voice-player" data-state={paused ? 'paused' : 'playing'}>
      <button
        type="button"
        class="voice-play"
        aria-label={paused ? t('voice.playNamed', { name }) : t('voice.pauseNamed', { name })}
        title={paused ? t('voice.play') : t('voice.pause')}
        disabled={!url}
        onClick={() => void toggle()}
      >
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
          {paused ? (
            <path d="M8 5.5v13l11-6.5z" fill="currentColor" />
          ) : (
            <path d="M7 5h3.5v14H7zM13.5 5H17v14h-3.5z" fill="currentColor" />
          )}
        </svg>
      </button>
      <div class="voice-track">
        {peaks && peaks.length > 0 ? (
          <svg
            class="voice-waveform"
            viewBox={`0 0 ${peaks.length * 3} 32`}
            preserveAspectRatio="none"
            aria-hidden="true"
            focusable="false"
          >
            {peaks.map((peak, index) => {
              const height = Math.max(2, peak * 30);
              return (
                <rect
                  key={index}
                  class={(index + 0.5) / peaks.length <= progress ? 'played' : undefined}
                  x={index * 3}
                  y={(32 - height) / 2}
                  width="2"
                  height={height}
                  rx="1"
                />
              );
            })}
          </svg>
        ) : (
          <div class="voice-bar" aria-hidden="true">
            <div class="voice-bar-fill" style={{ width: `${progress * 100}%` }} />
          </div>
        )}
        <input
          type="range"
          class="voice-seek"
          aria-label={t('voice.position', { name })}
          min={0}
          max={known ? duration : 0}
          step="any"
          value={position}
          disabled={!known}
          aria-valuetext={t('voice.positionOf', {
            position: describeDuration(position),
            duration: describeDuration(duration),
          })}
          onInput={(event) => seek(Number(event.currentTarget.value))}
          onKeyDown={(event) => {
            // Arrows move 5 seconds (the native step, "any", would be a hair).
            const step =
              event.key === 'ArrowRight' || event.key === 'ArrowUp'
                ? 5
                : event.key === 'ArrowLeft' || event.key === 'ArrowDown'
                  ? -5
                  : 0;
            if (step === 0) return;
            event.preventDefault();
            seek(position + step);
          }}
        />
      </div>
      <span class="voice-time">
        <span class="visually-hidden">{t('voice.timePosition')}</span>
        {formatDuration(position)}
        <span aria-hidden="true"> / </span>
        <span class="visually-hidden">{t('voice.timeOf')}</span>
        <span class="voice-duration">{known ? formatDuration(duration) : '–:––'}</span>
      </span>
      {url ? (
        // biome-ignore lint/a11y/useMediaCaption: a voice message's captions are its transcript, shown below
        <audio
          ref={audioRef}
          src={url}
          preload="metadata"
          onPlay={() => setPaused(false)}
          onPause={() => {
            setPaused(true);
            setPosition(audioRef.current?.currentTime ?? 0);
          }}
          onEnded={() => {
            setPaused(true);
            setPosition(known ? duration : 0);
          }}
          onLoadedMetadata={(event) => setElementDuration(event.currentTarget.duration)}
          onDurationChange={(event) => setElementDuration(event.currentTarget.duration)}
          onTimeUpdate={(event) => paused && setPosition(event.currentTarget.currentTime)}
        />
      ) : null}
      {error || failed ? (
        <p class="error-text" role="alert">
          {error ?? t('voice.loadFailed')}
        </p>
      ) : null}
    </div>
  );
}

/** A message's transcript when its metadata holds one (the server's shape, checked loosely). */
function transcriptOf(message: Message): MessageTranscript | undefined {
  const value = message.metadata?.transcript as Partial<MessageTranscript> | undefined;
  if (!value || typeof value !== 'object') return undefined;
  if (value.status === 'pending') return value as MessageTranscript;
  if (value.status === 'done' && typeof value.text === 'string') return value as MessageTranscript;
  if (value.status === 'failed' && typeof value.error === 'string') return value as MessageTranscript;
  return undefined;
}

/**
 * The transcript under a voice message: "Transcribing…" while pending; the text collapsed to two lines with
 * "Show transcript"; or the reason it failed with Retry for who may ask again: the author, and whoever the
 * server's rights for the room let moderate it.
 */
export function VoiceTranscript({
  message,
  me,
  moderate,
}: {
  message: Message;
  me: User;
  /** Whether I may moderate others' messages in the room, as the server's rights for it say. */
  moderate: boolean;
}) {
  const controller = useController();
  const transcript = transcriptOf(message);
  const [expanded, setExpanded] = useState(false);
  const [overflows, setOverflows] = useState(false);
  const [retrying, setRetrying] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const textRef = useRef<HTMLParagraphElement>(null);
  const text = transcript?.status === 'done' ? transcript.text : '';

  useLayoutEffect(() => {
    const element = textRef.current;
    if (!element || expanded) return;
    setOverflows(element.scrollHeight > element.clientHeight + 1);
  }, [text, expanded]);

  if (!transcript || !message.attachments.some((each) => each.mimeType.startsWith('audio/'))) return null;

  if (transcript.status === 'pending') {
    return (
      <p class="voice-transcript pending" role="status">
        <span class="voice-spinner" aria-hidden="true" />
        {t('voice.transcribing')}
      </p>
    );
  }

  if (transcript.status === 'failed') {
    const mayRetry = message.authorId === me.id || moderate;
    return (
      <div class="voice-transcript failed">
        <span>{t('voice.noTranscript', { error: transcript.error })}</span>
        {mayRetry ? (
          <button
            type="button"
            class="button small"
            disabled={retrying}
            onClick={async () => {
              setRetrying(true);
              setError(null);
              try {
                await controller.rest.retryTranscript(message.id);
              } catch (caught) {
                setError(describeError(caught));
              } finally {
                setRetrying(false);
              }
            }}
          >
            {retrying ? t('voice.retrying') : t('voice.retry')}
            <span class="visually-hidden">{t('voice.retryHidden')}</span>
          </button>
        ) : null}
        {error ? (
          <span class="error-text" role="alert">
            {error}
          </span>
        ) : null}
      </div>
    );
  }

  if (!text.trim()) {
    return <p class="voice-transcript muted">{t('voice.noWords')}</p>;
  }
  return (
    <div class="voice-transcript done">
      <p
        ref={textRef}
        class={`voice-transcript-text${expanded ? '' : ' collapsed'}`}
        lang={transcript.language}
      >
        <span class="visually-hidden">{t('voice.transcriptPrefix')}</span>
        {text}
      </p>
      {overflows || expanded ? (
        <button
          type="button"
          class="link-button voice-transcript-toggle"
          aria-expanded={expanded}
          onClick={() => setExpanded(!expanded)}
        >
          {expanded ? t('voice.hideTranscript') : t('voice.showTranscript')}
        </button>
      ) : null}
    </div>
  );
}

/** The server's `metadata.speech` of an assistant answer (checked loosely, like the transcript). */
type MessageSpeech =
  | { status: 'pending' }
  | { status: 'done'; fileId: string; truncated?: boolean }
  | { status: 'failed'; error: string };

function speechOf(message: Message): MessageSpeech | undefined {
  const value = message.metadata?.speech as Partial<{ status: string; error: unknown }> | undefined;
  if (!value || typeof value !== 'object') return undefined;
  if (value.status === 'pending' || value.status === 'done') return value as MessageSpeech;
  if (value.status === 'failed' && typeof value.error === 'string') return value as MessageSpeech;
  return undefined;
}

/**
 * Under an assistant answer that the server speaks (rooms with "Speak assistant replies"): "Speaking the
 * answer…" until its audio arrives as an attachment (played by the voice player above), a note when the audio
 * stops before the text, or why it could not be spoken; the text answer is there in every case.
 */
export function SpokenReplyState({ message }: { message: Message }) {
  const speech = speechOf(message);
  if (!speech) return null;
  if (speech.status === 'pending') {
    return (
      <p class="voice-transcript pending" role="status">
        <span class="voice-spinner" aria-hidden="true" />
        {t('voice.speakingReply')}
      </p>
    );
  }
  if (speech.status === 'failed') {
    return <p class="voice-transcript failed">{t('voice.speechFailed', { error: speech.error })}</p>;
  }
  return speech.truncated ? <p class="voice-transcript muted">{t('voice.speechTruncated')}</p> : null;
}
