import type { KaiwaChatClient, VoiceInfo } from '@kaiwa/client';
import type { Message } from '@kaiwa/protocol';
import { useEffect, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { t } from '../i18n';
import { speakableText } from '../voice-recording';
import { describeError } from './common';

/*
 * "Read aloud" on a message (assistant replies included): the server's synthesizer speaks the text
 * (`POST /speech`), shown only where `GET /voice` names one. One message speaks at a time; the button
 * becomes "Stop reading" while it does.
 */

const NO_VOICE: VoiceInfo = { transcriber: null, synthesizer: null };
const voiceInfos = new WeakMap<KaiwaChatClient, Promise<VoiceInfo>>();

/** What the server offers for voice (asked once per sign-in); null until it answered. */
export function useVoiceInfo(): VoiceInfo | null {
  const controller = useController();
  const [info, setInfo] = useState<VoiceInfo | null>(null);
  useEffect(() => {
    let request = voiceInfos.get(controller);
    if (!request) {
      // An older server without the route, or a failure: no voice features, nothing broken.
      request = controller.rest.voiceInfo().catch(() => NO_VOICE);
      voiceInfos.set(controller, request);
    }
    let live = true;
    void request.then((answer) => live && setInfo(answer));
    return () => {
      live = false;
    };
  }, [controller]);
  return info;
}

/** The speech playing now, so that a second "Read aloud" stops the first. */
let speaking: { messageId: string; audio: HTMLAudioElement; url: string; done: () => void } | null = null;
const listeners = new Set<() => void>();
/** Bumped by every start and stop, so speech that arrives after a stop is not played. */
let generation = 0;

function stopSpeaking(): void {
  generation += 1;
  if (!speaking) return;
  const current = speaking;
  speaking = null;
  current.audio.pause();
  current.audio.removeAttribute('src');
  URL.revokeObjectURL(current.url);
  current.done();
  for (const listener of listeners) listener();
}

export function ReadAloudButton({ message }: { message: Message }) {
  const controller = useController();
  const info = useVoiceInfo();
  const [state, setState] = useState<'idle' | 'loading' | 'speaking'>(() =>
    speaking?.messageId === message.id ? 'speaking' : 'idle',
  );
  useEffect(() => {
    const listener = () => {
      if (speaking?.messageId !== message.id)
        setState((current) => (current === 'loading' ? current : 'idle'));
    };
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, [message.id]);
  const synthesizer = info?.synthesizer;
  const text = speakableText(message.text, synthesizer?.maxTextLength);
  if (!synthesizer || !text) return null;

  const start = async () => {
    stopSpeaking();
    const mine = generation;
    setState('loading');
    try {
      const blob = await controller.rest.speech({ text });
      if (mine !== generation) return;
      const url = URL.createObjectURL(blob);
      const audio = new Audio(url);
      speaking = { messageId: message.id, audio, url, done: () => setState('idle') };
      for (const listener of listeners) listener();
      audio.addEventListener('ended', () => {
        if (speaking?.audio === audio) stopSpeaking();
      });
      setState('speaking');
      await audio.play();
    } catch (caught) {
      if (mine !== generation) return;
      stopSpeaking();
      setState('idle');
      controller.say(t('voice.readAloudFailed', { error: describeError(caught) }));
    }
  };

  const active = state !== 'idle';
  const label =
    state === 'loading' ? t('voice.preparingSpeech') : active ? t('voice.stopReading') : t('voice.readAloud');
  return (
    <button
      type="button"
      class={`icon-button read-aloud${active ? ' active' : ''}`}
      aria-label={label}
      aria-pressed={active}
      title={label}
      onClick={() => {
        if (active) {
          stopSpeaking();
          setState('idle');
        } else {
          void start();
        }
      }}
    >
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
        {active ? (
          <rect x="6" y="6" width="12" height="12" rx="1" />
        ) : (
          <>
            <path d="M11 5L6 9H2v6h4l5 4z" />
            <path d="M15.5 8.5a5 5 0 0 1 0 7" />
            <path d="M19 5a10 10 0 0 1 0 14" />
          </>
        )}
      </svg>
    </button>
  );
}
