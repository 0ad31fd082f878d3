import type { Message } from '@kaiwa/protocol';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { formatFull } from '../format';
import { useController } from '../hooks';
import { t } from '../i18n';
import { highlight, navigation, queryWords } from '../navigation';
import { describeError } from './common';
import { Icon } from './icons';

/*
 * Full-text search over every message the reader may read (`GET /api/v1/search`, Japanese included): a
 * dialog with the query, an optional filter to the room on screen, and the results as a listbox (arrow
 * keys, Enter) showing room, author, time and the text with the query's words marked. Choosing a result
 * opens the message in place.
 */

const PAGE = 30;
const DEBOUNCE_MS = 250;

/** The query of the last search, kept for the next time the search opens. */
let lastQuery = '';

/** The search field of the room header: opens the search (also on `/`). */
export function SearchButton() {
  return (
    <button
      type="button"
      class="search-button"
      aria-label={t('search.button')}
      aria-keyshortcuts="/"
      title={t('search.buttonTitle')}
      onClick={() => navigation.openSearch()}
    >
      <Icon name="search" />
      <span class="search-button-label">{t('search.label')}</span>
      <kbd class="search-button-key">/</kbd>
    </button>
  );
}

type SearchStatus =
  | { kind: 'idle' }
  | { kind: 'searching' }
  | { kind: 'done'; more: boolean }
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
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const listId = useId();
  const [query, setQuery] = useState(lastQuery);
  const [thisRoom, setThisRoom] = useState(false);
  const [results, setResults] = useState<Message[]>([]);
  const [active, setActive] = useState(0);
  const [status, setStatus] = useState<SearchStatus>({ kind: 'idle' });
  const request = useRef(0);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  const roomFilter = thisRoom && currentRoomId ? currentRoomId : undefined;

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

  // Searches as the reader types, once they pause.
  useEffect(() => {
    lastQuery = query;
    const timer = setTimeout(() => void search(query), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [query, roomFilter]);

  // The active result stays in view while the arrows move through the list.
  useEffect(() => {
    list.current?.querySelector(`[data-index="${active}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const words = queryWords(query);
  const optionId = (index: number) => `${listId}-option-${index}`;
  const roomLabel = (roomId: string) => {
    const entry = state.rooms.get(roomId);
    if (!entry) return t('search.aRoom');
    return entry.room.kind === 'direct' ? state.roomTitle(roomId) : `#${state.roomTitle(roomId)}`;
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.isComposing) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (results.length === 0) return;
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((active + step + results.length) % results.length);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      const chosen = results[active];
      if (chosen && status.kind === 'done') onOpen(chosen);
      else void search(query);
    }
  };

  const statusText =
    status.kind === 'searching'
      ? t('search.searching')
      : status.kind === 'error'
        ? t('search.failed', { error: status.message })
        : status.kind === 'done'
          ? results.length === 0
            ? t('search.noMatch', { query: query.trim() })
            : t(status.more ? 'search.countMore' : 'search.count', { count: results.length })
          : t('search.intro');

  return (
    <dialog ref={dialog} class="modal navigation-dialog search-dialog" aria-labelledby={titleId}>
      <h2 id={titleId} class="visually-hidden">
        {t('search.button')}
      </h2>
      <div class="navigation-field">
        <Icon name="search" />
        <input
          ref={input}
          type="search"
          role="combobox"
          aria-label={t('search.button')}
          aria-expanded={results.length > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={results[active] ? optionId(active) : undefined}
          placeholder={t('search.button')}
          autocomplete="off"
          enterKeyHint="search"
          value={query}
          onInput={(event) => {
            setQuery(event.currentTarget.value);
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
        {currentRoomId ? (
          <label class="search-scope">
            <input
              type="checkbox"
              checked={thisRoom}
              onChange={(event) => setThisRoom(event.currentTarget.checked)}
            />
            {t('search.onlyIn', { room: roomLabel(currentRoomId) })}
          </label>
        ) : null}
        <p class={`navigation-status${status.kind === 'error' ? ' error-text' : ''}`} role="status">
          {statusText}
        </p>
      </div>
      <div ref={list} id={listId} class="navigation-results" role="listbox" aria-label={t('search.results')}>
        {results.map((message, index) => (
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
              {message.threadRootId ? <span class="search-result-thread">{t('search.inThread')}</span> : null}
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
      {status.kind === 'done' && status.more ? (
        <div class="navigation-more">
          <button type="button" class="button small" onClick={() => void search(query, results.at(-1)?.id)}>
            {t('search.more')}
          </button>
        </div>
      ) : null}
    </dialog>
  );
}
