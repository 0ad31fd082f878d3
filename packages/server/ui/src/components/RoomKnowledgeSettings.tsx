import type { RoomKnowledge, RoomKnowledgeSettings as Sources } from '@kaiwa/client';
import { useEffect, useId, useState } from 'preact/hooks';
import { useController } from '../hooks';
import { t } from '../i18n';
import { useKnowledgeInfo } from '../knowledge';
import { describeError, ErrorText } from './common';

/*
 * The room details' "Knowledge" section: whether the room's messages and its documents are knowledge its
 * members can ask about (`GET`/`PUT /rooms/:roomId/knowledge`), and how far the messages are indexed, asked
 * again every few seconds while the server is indexing. Shown only where the server has knowledge; the
 * switches are for the room's owners and admins, the others read the settings.
 */

/** How often the indexing state is asked for while the server indexes. */
const POLL_MS = 1_000;
/** A source just turned on may have no indexing state yet: asked this many times before giving up. */
const MAX_POLLS_WITHOUT_STATE = 10;

const SOURCES = [
  { key: 'messages', label: () => t('knowledge.messages'), hint: () => t('knowledge.messagesHint') },
  { key: 'files', label: () => t('knowledge.files'), hint: () => t('knowledge.filesHint') },
] as const;

export function RoomKnowledgeSettings({ roomId, canChange }: { roomId: string; canChange: boolean }) {
  const controller = useController();
  const info = useKnowledgeInfo();
  const [knowledge, setKnowledge] = useState<RoomKnowledge | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [polls, setPolls] = useState(0);
  const titleId = useId();
  const enabled = info?.enabled === true;

  useEffect(() => {
    if (!enabled) return;
    let live = true;
    setKnowledge(null);
    setError(null);
    controller.rest.roomKnowledge(roomId).then(
      (answer) => live && setKnowledge(answer),
      (caught: unknown) => live && setError(describeError(caught)),
    );
    return () => {
      live = false;
    };
  }, [controller, roomId, enabled]);

  // While the messages are being indexed (or their indexing has not started yet), ask again.
  const state = knowledge?.indexing?.state;
  const waiting =
    knowledge?.messages === true &&
    (state === 'indexing' || (state === undefined && polls < MAX_POLLS_WITHOUT_STATE));
  useEffect(() => {
    if (!waiting || busy) return;
    let live = true;
    const timer = setTimeout(() => {
      controller.rest.roomKnowledge(roomId).then(
        (answer) => {
          if (!live) return;
          setKnowledge(answer);
          setPolls((count) => count + 1);
        },
        // A failed poll is tried again on the next round; the settings shown stay as they were.
        () => live && setPolls((count) => count + 1),
      );
    }, POLL_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [controller, roomId, waiting, busy, polls]);

  if (!enabled) return null;

  const change = async (next: Sources) => {
    const before = knowledge;
    if (before) setKnowledge({ ...before, ...next });
    setBusy(true);
    setError(null);
    try {
      setKnowledge(await controller.rest.setRoomKnowledge(roomId, next));
      setPolls(0);
    } catch (caught) {
      setKnowledge(before);
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };

  const indexing = knowledge?.messages ? knowledge.indexing : null;

  return (
    <section class="details-section knowledge-settings" aria-labelledby={titleId}>
      <h3 id={titleId}>{t('knowledge.title')}</h3>
      {knowledge === null ? (
        error ? null : (
          <p role="status">{t('common.loading')}</p>
        )
      ) : (
        <div class="stack details-settings">
          <p class="hint">{t('knowledge.intro')}</p>
          {SOURCES.map((source) =>
            canChange ? (
              <label key={source.key} class="toggle">
                <input
                  type="checkbox"
                  role="switch"
                  checked={knowledge[source.key]}
                  aria-checked={knowledge[source.key]}
                  disabled={busy}
                  onChange={(event) =>
                    void change({
                      messages: knowledge.messages,
                      files: knowledge.files,
                      [source.key]: event.currentTarget.checked,
                    })
                  }
                />
                <span>
                  {source.label()}
                  <span class="hint">{source.hint()}</span>
                </span>
              </label>
            ) : (
              <p key={source.key} class="knowledge-source">
                {t('knowledge.sourceState', {
                  source: source.label(),
                  state: knowledge[source.key] ? t('knowledge.on') : t('knowledge.off'),
                })}
              </p>
            ),
          )}
          <p
            class={`knowledge-state${indexing?.state === 'failed' ? ' error-text' : ''}`}
            role="status"
            aria-live="polite"
          >
            {indexing?.state === 'indexing'
              ? t('knowledge.indexing', { count: indexing.messages })
              : indexing?.state === 'done'
                ? t('knowledge.done', { count: indexing.messages })
                : indexing?.state === 'failed'
                  ? t('knowledge.failed', { error: indexing.error ?? t('common.somethingWentWrong') })
                  : null}
          </p>
        </div>
      )}
      <ErrorText error={error} />
    </section>
  );
}
