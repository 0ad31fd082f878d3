import type { KnowledgePassage } from '@kaiwa/client';
import type { Message } from '@kaiwa/protocol';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { formatFull } from '../format';
import { useController } from '../hooks';
import { t } from '../i18n';
import { bestMessage, takePendingQuestion, useKnowledgeInfo } from '../knowledge';
import { highlight, queryWords } from '../navigation';
import { describeError } from './common';
import { Icon } from './icons';

/*
 * Full-text search over every message the reader may read (`GET /api/v1/search`, Japanese included): a
 * dialog with the query, an optional filter to the room on screen, and the results as a listbox (arrow
 * keys, Enter) showing room, author, time and the text with the query's words marked. Choosing a result
 * opens the message in place. Where the server has knowledge, a second mode asks it a question
 * (`GET /api/v1/knowledge/search`, also opened by `/ask <question>` in the message box): the passages
 * found, each with its room or document, open their message in place or their document.
 */

const PAGE = 30;
const DEBOUNCE_MS = 250;

/** How many passages a question brings. */
const PASSAGES = 10;

/** The query of the last search, kept for the next time the search opens. */
let lastQuery = '';
/** The last question asked, kept likewise. */
let lastQuestion = '';

type SearchMode = 'messages' | 'ask';

type SearchStatus =
  | { kind: 'idle' }
  | { kind: 'searching' }
  | { kind: 'done'; more: boolean }
  | { kind: 'error'; message: string };

type AskStatus =
  | { kind: 'idle' }
  | { kind: 'asking' }
  | { kind: 'done'; question: string }
  | { kind: 'error'; message: string };

export function SearchPanel({
  currentRoomId,
  onOpen,
  onClose,
}: {
  currentRoomId: string | null;
  onOpen: (message: Message) => void;
  onClose: () => void;
}) {
  const controller = useController();
  const state = controller.state;
  const knowledge = useKnowledgeInfo();
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const listId = useId();
  // `/ask <question>` opened the panel: Ask mode, that question.
  const [handedOver] = useState(takePendingQuestion);
  const [mode, setMode] = useState<SearchMode>(handedOver === null ? 'messages' : 'ask');
  const [query, setQuery] = useState(lastQuery);
  const [question, setQuestion] = useState(handedOver ?? lastQuestion);
  const [thisRoom, setThisRoom] = useState(false);
  const [results, setResults] = useState<Message[]>([]);
  const [passages, setPassages] = useState<KnowledgePassage[]>([]);
  const [active, setActive] = useState(0);
  const [status, setStatus] = useState<SearchStatus>({ kind: 'idle' });
  const [askStatus, setAskStatus] = useState<AskStatus>({ kind: 'idle' });
  const request = useRef(0);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  const roomFilter = thisRoom && currentRoomId ? currentRoomId : undefined;
  const asking = mode === 'ask';
  const canAsk = handedOver !== null || knowledge?.enabled === true;

  // A modal <dialog>: focus moves in and is trapped, Escape closes it, focus goes back where it was.
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    const opener = document.activeElement as HTMLElement | null;
    if (!element.open) element.showModal();
    input.current?.focus();
    input.current?.select();
    const onCancel = (event: Event) => {
      event.preventDefault();
      closeRef.current();
    };
    element.addEventListener('cancel', onCancel);
    return () => {
      element.removeEventListener('cancel', onCancel);
      if (element.open) element.close();
      opener?.focus?.();
    };
  }, []);

  const search = async (text: string, before?: string) => {
    const trimmed = text.trim();
    const id = ++request.current;
    if (!trimmed) {
      setResults([]);
      setStatus({ kind: 'idle' });
      return;
    }
    setStatus({ kind: 'searching' });
    try {
      const { messages } = await controller.rest.search({
        query: trimmed,
        limit: PAGE,
        ...(roomFilter ? { roomId: roomFilter } : {}),
        ...(before ? { before } : {}),
      });
      if (id !== request.current) return;
      controller.ensureUsers(messages.map((message) => message.authorId));
      setResults((previous) => (before ? [...previous, ...messages] : messages));
      if (!before) setActive(0);
      setStatus({ kind: 'done', more: messages.length === PAGE });
    } catch (error) {
      if (id === request.current) setStatus({ kind: 'error', message: describeError(error) });
    }
  };

  /** Asks the knowledge of the rooms whose knowledge is on: only on Enter, as a question is finished. */
  const ask = async (text: string) => {
    const trimmed = text.trim();
    const id = ++request.current;
    if (!trimmed) {
      setPassages([]);
      setAskStatus({ kind: 'idle' });
      return;
    }
    setAskStatus({ kind: 'asking' });
    try {
      const answer = await controller.rest.searchKnowledge(trimmed, { limit: PASSAGES });
      if (id !== request.current) return;
      setPassages(answer.passages);
      setActive(0);
      setAskStatus({ kind: 'done', question: trimmed });
    } catch (error) {
      if (id === request.current)
        setAskStatus({ kind: 'error', message: t('knowledge.askFailed', { error: describeError(error) }) });
    }
  };

  // Searches as the reader types, once they pause.
  useEffect(() => {
    if (asking) return;
    lastQuery = query;
    const timer = setTimeout(() => void search(query), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [query, roomFilter, asking]);

  // The question handed over by `/ask` is asked at once.
  useEffect(() => {
    if (handedOver) void ask(handedOver);
  }, []);

  // The active result stays in view while the arrows move through the list.
  useEffect(() => {
    list.current?.querySelector(`[data-index="${active}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const words = queryWords(query);
  // Short words of a question ("is", "the") would be marked inside every other word.
  const questionWords = queryWords(question).filter((word) => [...word].length >= 4);
  const optionId = (index: number) => `${listId}-option-${index}`;
  const roomLabel = (roomId: string) => {
    const entry = state.rooms.get(roomId);
    if (!entry) return t('search.aRoom');
    return entry.room.kind === 'direct' ? state.roomTitle(roomId) : `#${state.roomTitle(roomId)}`;
  };
  const count = asking ? passages.length : results.length;
  const answered = askStatus.kind === 'done' && askStatus.question === question.trim();

  const switchMode = (next: SearchMode) => {
    if (next === mode) return;
    request.current += 1;
    setMode(next);
    setActive(0);
    if (next === 'messages') setStatus({ kind: 'searching' });
    input.current?.focus();
  };

  const openPassage = async (passage: KnowledgePassage) => {
    const { source } = passage;
    try {
      if (source.type === 'message') {
        const first = source.messageIds[0];
        if (!first) return;
        // The passage's messages, loaded around its first (in a room I am in), so the jump can go to the
        // one that answers the question rather than to where the passage starts.
        if (state.rooms.has(source.roomId))
          await controller.loadAround(source.roomId, first).catch(() => undefined);
        const loaded = source.messageIds.flatMap((id) => state.message(source.roomId, id) ?? []);
        onOpen(bestMessage(question, loaded) ?? (await controller.rest.getMessage(first)));
      } else {
        const url = await controller.fileUrl(source.fileId);
        const tab = window.open(`${url}${source.page ? `#page=${source.page}` : ''}`, '_blank');
        if (tab) tab.opener = null;
      }
    } catch (error) {
      setAskStatus({ kind: 'error', message: t('knowledge.openFailed', { error: describeError(error) }) });
    }
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.isComposing) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (count === 0) return;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((active + step + count) % count);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (asking) {
        const chosen = passages[active];
        if (chosen && answered) void openPassage(chosen);
        else void ask(question);
        return;
      }
      const chosen = results[active];
      if (chosen && status.kind === 'done') onOpen(chosen);
      else void search(query);
    }
  };

  const statusText = asking
    ? askStatus.kind === 'asking'
      ? t('knowledge.asking')
      : askStatus.kind === 'error'
        ? askStatus.message
        : askStatus.kind === 'done'
          ? passages.length === 0
            ? t('knowledge.noPassage', { query: askStatus.question })
            : t('knowledge.count', { count: passages.length })
          : t('knowledge.askIntro')
    : status.kind === 'searching'
      ? t('search.searching')
      : status.kind === 'error'
        ? t('search.failed', { error: status.message })
        : status.kind === 'done'
          ? results.length === 0
            ? t('search.noMatch', { query: query.trim() })
            : t(status.more ? 'search.countMore' : 'search.count', { count: results.length })
          : t('search.intro');
  const failed = asking ? askStatus.kind === 'error' : status.kind === 'error';
  const fieldLabel = asking ? t('knowledge.askField') : t('search.button');

  return (
    <dialog ref={dialog} class="modal navigation-dialog search-dialog" aria-labelledby={titleId}>
      <h2 id={titleId} class="visually-hidden">
        {fieldLabel}
      </h2>
      <div class="navigation-field">
        <Icon name="search" />
        <input
          ref={input}
          type="search"
          role="combobox"
          aria-label={fieldLabel}
          aria-expanded={count > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={active < count ? optionId(active) : undefined}
          placeholder={fieldLabel}
          autocomplete="off"
          enterKeyHint={asking ? 'go' : 'search'}
          value={asking ? question : query}
          onInput={(event) => {
            const value = event.currentTarget.value;
            if (asking) {
              setQuestion(value);
              lastQuestion = value;
              return;
            }
            setQuery(value);
            // Until the new answer: Enter must not open a result of the old query.
            setStatus({ kind: 'searching' });
          }}
          onKeyDown={onKeyDown}
        />
        <button type="button" class="icon-button" aria-label={t('search.close')} onClick={() => onClose()}>
          <Icon name="close" />
        </button>
      </div>
      <div class="navigation-options">
        {canAsk ? (
          <fieldset class="search-modes">
            <legend class="visually-hidden">{t('knowledge.modes')}</legend>
            <button
              type="button"
              class="search-mode"
              aria-pressed={!asking}
              onClick={() => switchMode('messages')}
            >
              {t('knowledge.searchMessages')}
            </button>
            <button type="button" class="search-mode" aria-pressed={asking} onClick={() => switchMode('ask')}>
              {t('knowledge.ask')}
            </button>
          </fieldset>
        ) : null}
        {currentRoomId && !asking ? (
          <label class="search-scope">
            <input
              type="checkbox"
              checked={thisRoom}
              onChange={(event) => setThisRoom(event.currentTarget.checked)}
            />
            {t('search.onlyIn', { room: roomLabel(currentRoomId) })}
          </label>
        ) : null}
        <p class={`navigation-status${failed ? ' error-text' : ''}`} role="status">
          {statusText}
        </p>
      </div>
      <div
        ref={list}
        id={listId}
        class="navigation-results"
        role="listbox"
        aria-label={asking ? t('knowledge.passages') : t('search.results')}
      >
        {asking
          ? passages.map((passage, index) => (
              <div
                key={`${passage.link}-${index}`}
                id={optionId(index)}
                data-index={index}
                role="option"
                aria-selected={index === active}
                class={`search-result passage-result${index === active ? ' active' : ''}`}
                onMouseMove={() => index !== active && setActive(index)}
                tabIndex={-1}
                onClick={() => void openPassage(passage)}
                onKeyDown={(event) => event.key === 'Enter' && void openPassage(passage)}
              >
                <div class="search-result-meta">
                  {passage.source.type === 'file' ? <Icon name="file" /> : null}
                  <span class="search-result-room">{passageSource(passage, roomLabel)}</span>
                  {passage.source.type === 'file' && passage.source.page ? (
                    <span class="search-result-thread">
                      {t('knowledge.page', { page: passage.source.page })}
                    </span>
                  ) : null}
                </div>
                <p class="search-result-text">
                  {highlight(passage.text, questionWords).map((part, at) =>
                    part.match ? <mark key={at}>{part.text}</mark> : part.text,
                  )}
                </p>
              </div>
            ))
          : results.map((message, index) => (
              <div
                key={message.id}
                id={optionId(index)}
                data-index={index}
                role="option"
                aria-selected={index === active}
                class={`search-result${index === active ? ' active' : ''}`}
                onMouseMove={() => index !== active && setActive(index)}
                tabIndex={-1}
                onClick={() => onOpen(message)}
                onKeyDown={(event) => event.key === 'Enter' && onOpen(message)}
              >
                <div class="search-result-meta">
                  <span class="search-result-room">{roomLabel(message.roomId)}</span>
                  <span class="search-result-author">{state.nameOf(message.authorId)}</span>
                  {message.threadRootId ? (
                    <span class="search-result-thread">{t('search.inThread')}</span>
                  ) : null}
                  <time dateTime={message.createdAt}>{formatFull(message.createdAt)}</time>
                </div>
                <p class="search-result-text">
                  {highlight(message.text, words).map((part, at) =>
                    part.match ? <mark key={at}>{part.text}</mark> : part.text,
                  )}
                </p>
              </div>
            ))}
      </div>
      {!asking && status.kind === 'done' && status.more ? (
        <div class="navigation-more">
          <button type="button" class="button small" onClick={() => void search(query, results.at(-1)?.id)}>
            {t('search.more')}
          </button>
        </div>
      ) : null}
    </dialog>
  );
}

/** Where a passage is: its room, or its document (in its room). */
function passageSource(passage: KnowledgePassage, roomLabel: (roomId: string) => string): string {
  const { source } = passage;
  if (source.type === 'message') return roomLabel(source.roomId);
  const file = source.name ?? t('knowledge.aDocument');
  return source.roomId ? t('knowledge.fileIn', { file, room: roomLabel(source.roomId) }) : file;
}
