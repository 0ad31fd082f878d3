import { useEffect, useId, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { formattingLocale, t } from '../i18n';
import { describeError, ErrorText } from './common';
import { useVoiceInfo } from './ReadAloudButton';

/*
 * The room details' "Voice messages" section: the language the room's voice messages are transcribed in and,
 * where the server also speaks, whether the assistant's answers to voice messages are spoken
 * (`GET`/`PUT /rooms/:roomId/voice`; the PUT replaces both, so both are sent). Shown only where the server
 * transcribes; changeable by the room's owners and admins, as the server allows.
 */

/** Offered when the transcriber takes any language (Whisper): the common ones; others stay as they are. */
const COMMON_LANGUAGES = ['en', 'ja', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'zh', 'ko', 'ru', 'pl', 'sv', 'tr'];

function languageName(tag: string): string {
  try {
    return new Intl.DisplayNames(formattingLocale(), { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

export function RoomVoiceSettings({ roomId, canChange }: { roomId: string; canChange: boolean }) {
  const controller = useController();
  const info = useVoiceInfo();
  const [language, setLanguage] = useState<string | null>(null);
  const [speakReplies, setSpeakReplies] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const selectId = useId();
  const transcriber = info?.transcriber;
  const speaks = Boolean(info?.synthesizer);

  useEffect(() => {
    if (!transcriber) return;
    setLanguage(null);
    controller.rest.roomVoiceSettings(roomId).then(
      (settings) => {
        setLanguage(settings.language ?? '');
        setSpeakReplies(settings.speakReplies === true);
      },
      (caught: unknown) => setError(describeError(caught)),
    );
  }, [controller, roomId, transcriber]);

  if (!transcriber) return null;

  /** Saves both settings (the PUT replaces them); on failure the switch and the choice go back. */
  async function save(next: { language: string; speakReplies: boolean }) {
    const before = { language, speakReplies };
    setLanguage(next.language);
    setSpeakReplies(next.speakReplies);
    setBusy(true);
    setError(null);
    try {
      const saved = await controller.rest.setRoomVoiceSettings(roomId, {
        ...(next.language ? { language: next.language } : {}),
        ...(next.speakReplies ? { speakReplies: true } : {}),
      });
      setLanguage(saved.language ?? '');
      setSpeakReplies(saved.speakReplies === true);
    } catch (caught) {
      setLanguage(before.language);
      setSpeakReplies(before.speakReplies);
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  }

  const offered = transcriber.languages === 'any' ? COMMON_LANGUAGES : transcriber.languages;
  const options = language && !offered.includes(language) ? [language, ...offered] : offered;

  return (
    <section class="details-section" aria-labelledby={`${selectId}-title`}>
      <h3 id={`${selectId}-title`}>{t('voice.settingsTitle')}</h3>
      <div class="field">
        {canChange ? (
          <label for={selectId}>{t('voice.language')}</label>
        ) : (
          <span class="details-label">{t('voice.language')}</span>
        )}
        {language === null && !error ? (
          <p role="status">{t('common.loading')}</p>
        ) : canChange ? (
          <select
            id={selectId}
            value={language ?? ''}
            disabled={busy}
            onChange={(event) => void save({ language: event.currentTarget.value, speakReplies })}
          >
            <option value="">{t('voice.serverDefault')}</option>
            {options.map((tag) => (
              <option key={tag} value={tag}>
                {languageName(tag)}
              </option>
            ))}
          </select>
        ) : (
          <p>{language ? languageName(language) : t('voice.serverDefault')}</p>
        )}
        <span class="hint">
          {transcriber.quality === 'lower'
            ? t('voice.transcriptsByBasic', { provider: transcriber.provider })
            : t('voice.transcriptsBy', { provider: transcriber.provider })}
        </span>
      </div>
      {speaks && language !== null ? (
        canChange ? (
          <label class="toggle">
            <input
              type="checkbox"
              checked={speakReplies}
              disabled={busy}
              onChange={(event) =>
                void save({ language: language ?? '', speakReplies: event.currentTarget.checked })
              }
            />
            <span>
              {t('voice.speakReplies')}
              <span class="hint">{t('voice.speakRepliesHint')}</span>
            </span>
          </label>
        ) : (
          <p>{speakReplies ? t('voice.speakRepliesOn') : t('voice.speakRepliesOff')}</p>
        )
      ) : null}
      <ErrorText error={error} />
    </section>
  );
}
