import { useEffect, useId, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { formattingLocale, t } from '../i18n';
import { describeError, ErrorText } from './common';
import { useVoiceInfo } from './ReadAloudButton';

/*
 * The room details' "Voice messages" section: the language the room's voice messages are transcribed in
 * (`GET`/`PUT /rooms/:roomId/voice`). Shown only where the server transcribes; changeable by the room's
 * owners and admins, as the server allows.
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
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const selectId = useId();
  const transcriber = info?.transcriber;

  useEffect(() => {
    if (!transcriber) return;
    setLanguage(null);
    controller.rest.roomVoiceSettings(roomId).then(
      (settings) => setLanguage(settings.language ?? ''),
      (caught: unknown) => setError(describeError(caught)),
    );
  }, [controller, roomId, transcriber]);

  if (!transcriber) return null;
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
            onChange={async (event) => {
              const next = event.currentTarget.value;
              const before = language;
              setLanguage(next);
              setBusy(true);
              setError(null);
              try {
                const saved = await controller.rest.setRoomVoiceSettings(
                  roomId,
                  next ? { language: next } : {},
                );
                setLanguage(saved.language ?? '');
              } catch (caught) {
                setLanguage(before);
                setError(describeError(caught));
              } finally {
                setBusy(false);
              }
            }}
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
      <ErrorText error={error} />
    </section>
  );
}
