import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  type EmojiData,
  type EmojiEntry,
  emojiDataNow,
  loadEmojiData,
  preferredSkinTone,
  recentEmoji,
  rememberEmoji,
  rememberSkinTone,
  type SkinTone,
  searchEmoji,
  withSkinTone,
} from '../emoji-data';
import { t } from '../i18n';

const TONES: readonly SkinTone[] = [0, 1, 2, 3, 4, 5];

/** An emoji per category tab, in emojibase's group order (components left out by the build). */
const GROUP_ICONS = ['😀', '👋', '🐻', '🍔', '✈️', '⚽', '💡', '🔣', '🏁'];

/**
 * The full emoji picker: search by name, shortcode or tag, categories, recently used first, arrow keys
 * across the grid, a skin tone (remembered) for the emoji that take one. A modal `<dialog>` (the top layer, so no scrolling list clips it), placed by its opener
 * on wide screens and a bottom sheet on narrow ones; the data is fetched the first time one opens.
 *
 * @example <EmojiPicker anchor={button} label="Pick a reaction" verb="React with" onPick={react} onClose={close} />
 */
export function EmojiPicker({
  anchor,
  label,
  verb,
  onPick,
  onClose,
}: {
  /** The button that opened it: the picker appears next to it, and the focus goes back to it. */
  anchor: HTMLElement | null;
  label: string;
  /** Names the recently used buttons: "React with 👍". */
  verb: string;
  onPick: (emoji: string) => void;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const body = useRef<HTMLDivElement>(null);
  const [data, setData] = useState<EmojiData | undefined>(emojiDataNow);
  const [failed, setFailed] = useState(false);
  const [query, setQuery] = useState('');
  const [focused, setFocused] = useState<EmojiEntry | null>(null);
  const searchId = useId();
  const recent = useMemo(recentEmoji, []);
  const [tone, setTone] = useState<SkinTone>(preferredSkinTone);
  const [choosingTone, setChoosingTone] = useState(false);
  /** The entry as shown and picked: in the chosen skin tone where one applies. */
  const shown = (entry: EmojiEntry) => (entry.skinTones ? withSkinTone(entry.emoji, tone) : entry.emoji);
  const chooseTone = (next: SkinTone) => {
    setTone(next);
    rememberSkinTone(next);
    setChoosingTone(false);
  };

  useEffect(() => {
    if (data) return;
    loadEmojiData().then(setData, () => setFailed(true));
  }, [data]);

  useLayoutEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (!element.open) element.showModal();
    if (!anchor || window.innerWidth < 600) return;
    const box = anchor.getBoundingClientRect();
    const width = element.offsetWidth;
    const height = element.offsetHeight;
    const left = Math.max(8, Math.min(box.right - width, window.innerWidth - width - 8));
    const below = box.bottom + 6;
    const top = below + height < window.innerHeight - 8 ? below : Math.max(8, box.top - height - 6);
    element.classList.add('placed');
    element.style.left = `${left}px`;
    element.style.top = `${top}px`;
  }, [anchor]);

  useEffect(() => {
    const element = dialog.current;
    return () => {
      if (element?.open) element.close();
      if (anchor?.isConnected) anchor.focus();
    };
  }, [anchor]);

  const pick = (emoji: string) => {
    rememberEmoji(emoji);
    onPick(emoji);
  };

  const byEmoji = useMemo(() => new Map((data?.emoji ?? []).map((entry) => [entry.emoji, entry])), [data]);
  const results = useMemo(
    () => (data && query.trim() ? searchEmoji(data.emoji, query, 200) : null),
    [data, query],
  );
  const sections = useMemo(() => {
    if (!data) return [];
    const groups: EmojiEntry[][] = data.groups.map(() => []);
    for (const entry of data.emoji) groups[entry.group]?.push(entry);
    return groups;
  }, [data]);

  /** Moves the focus across the grid by what is on screen: the nearest button in the key's direction. */
  const onGridKey = (event: KeyboardEvent) => {
    const cells = [...(body.current?.querySelectorAll<HTMLButtonElement>('button.emoji-cell') ?? [])];
    const index = cells.indexOf(document.activeElement as HTMLButtonElement);
    if (index < 0) return;
    let next: HTMLButtonElement | undefined;
    if (event.key === 'ArrowRight') next = cells[index + 1];
    else if (event.key === 'ArrowLeft') next = cells[index - 1];
    else if (event.key === 'Home') next = cells[0];
    else if (event.key === 'End') next = cells[cells.length - 1];
    else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const from = cells[index]!.getBoundingClientRect();
      const down = event.key === 'ArrowDown';
      let best = Number.POSITIVE_INFINITY;
      const range = down ? cells.slice(index + 1) : cells.slice(0, index).reverse();
      for (const cell of range) {
        const box = cell.getBoundingClientRect();
        if (down ? box.top <= from.top + 2 : box.top >= from.top - 2) continue;
        const rowDistance = Math.abs(box.top - from.top);
        if (best !== Number.POSITIVE_INFINITY && rowDistance > best) break;
        best = rowDistance;
        if (!next || Math.abs(box.left - from.left) < Math.abs(next.getBoundingClientRect().left - from.left))
          next = cell;
      }
      if (!next && !down) {
        dialog.current?.querySelector<HTMLInputElement>('input[type="search"]')?.focus();
        event.preventDefault();
        return;
      }
    } else return;
    event.preventDefault();
    next?.focus();
    next?.scrollIntoView({ block: 'nearest' });
  };

  const cell = (entry: EmojiEntry | undefined, emoji: string, name: string) => (
    <button
      key={`${name}-${emoji}`}
      type="button"
      class="emoji-cell"
      tabIndex={-1}
      aria-label={name}
      title={entry ? `${entry.label}${entry.shortcodes[0] ? `  :${entry.shortcodes[0]}:` : ''}` : emoji}
      onFocus={() => setFocused(entry ?? null)}
      onMouseEnter={() => setFocused(entry ?? null)}
      onClick={() => pick(emoji)}
    >
      {emoji}
    </button>
  );

  const firstResult = results?.[0];
  return (
    <dialog
      ref={dialog}
      class="emoji-picker-dialog"
      aria-label={label}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      onClick={(event) => {
        // A click on the backdrop lands on the dialog itself.
        if (event.target === dialog.current) onClose();
      }}
      onKeyDown={(event) => {
        if (event.key === 'Escape') {
          event.preventDefault();
          event.stopPropagation();
          onClose();
        }
      }}
    >
      <div class="emoji-picker-head">
        <label for={searchId} class="visually-hidden">
          {t('emoji.search')}
        </label>
        <input
          id={searchId}
          type="search"
          class="emoji-search"
          placeholder={t('emoji.search')}
          autoComplete="off"
          value={query}
          autoFocus
          onInput={(event) => setQuery(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key === 'Enter' && firstResult) {
              event.preventDefault();
              pick(shown(firstResult));
            } else if (event.key === 'ArrowDown') {
              event.preventDefault();
              body.current?.querySelector<HTMLButtonElement>('button.emoji-cell')?.focus();
            }
          }}
        />
        <button
          type="button"
          class="emoji-tone-toggle"
          aria-label={`${t('emoji.skinTone')}: ${t(`emoji.tone${tone}`)}`}
          title={t('emoji.skinTone')}
          aria-expanded={choosingTone}
          onClick={() => setChoosingTone((open) => !open)}
        >
          {withSkinTone('✋', tone)}
        </button>
      </div>
      {choosingTone ? (
        <div class="emoji-tones" role="radiogroup" aria-label={t('emoji.skinTone')}>
          {TONES.map((each) => (
            // biome-ignore lint/a11y/useSemanticElements: a button per tone shows the tone itself, as pickers do
            <button
              key={each}
              type="button"
              role="radio"
              class="emoji-tone"
              aria-checked={each === tone}
              aria-label={t(`emoji.tone${each}`)}
              title={t(`emoji.tone${each}`)}
              onClick={() => chooseTone(each)}
            >
              {withSkinTone('✋', each)}
            </button>
          ))}
        </div>
      ) : null}
      {results === null && data ? (
        <nav class="emoji-tabs" aria-label={t('emoji.categories')}>
          {data.groups.map((group, index) => (
            <button
              key={group}
              type="button"
              class="emoji-tab"
              aria-label={group}
              title={group}
              onClick={() =>
                body.current?.querySelector(`[data-group="${index}"]`)?.scrollIntoView({ block: 'start' })
              }
            >
              {GROUP_ICONS[index] ?? '•'}
            </button>
          ))}
        </nav>
      ) : null}
      {/* biome-ignore lint/a11y/noStaticElementInteractions: arrow keys move between the buttons inside */}
      <div class="emoji-picker-body" ref={body} onKeyDown={onGridKey}>
        {results !== null ? (
          results.length === 0 ? (
            <p class="emoji-empty">{t('emoji.noMatch', { query: query.trim() })}</p>
          ) : (
            <section aria-label={t('emoji.results')}>
              <div class="emoji-grid">{results.map((entry) => cell(entry, shown(entry), entry.label))}</div>
            </section>
          )
        ) : (
          <>
            <section aria-labelledby={`${searchId}-recent`}>
              <h3 class="emoji-group-title" id={`${searchId}-recent`}>
                {t('emoji.recent')}
              </h3>
              <div class="emoji-grid">
                {recent.map((emoji) => cell(byEmoji.get(emoji), emoji, `${verb} ${emoji}`))}
              </div>
            </section>
            {failed ? <p class="emoji-empty">{t('emoji.failed')}</p> : null}
            {!data && !failed ? (
              <p class="emoji-empty" role="status">
                {t('emoji.loading')}
              </p>
            ) : null}
            {sections.map((entries, index) =>
              data && entries.length > 0 ? (
                <section
                  key={data.groups[index]}
                  data-group={index}
                  aria-labelledby={`${searchId}-g${index}`}
                >
                  <h3 class="emoji-group-title" id={`${searchId}-g${index}`}>
                    {data.groups[index]}
                  </h3>
                  <div class="emoji-grid">
                    {entries.map((entry) => cell(entry, shown(entry), entry.label))}
                  </div>
                </section>
              ) : null,
            )}
          </>
        )}
      </div>
      <div class="emoji-preview" aria-hidden="true">
        {focused ? (
          <>
            <span class="emoji-preview-emoji">{shown(focused)}</span>
            <span class="emoji-preview-name">{focused.label}</span>
            {focused.shortcodes[0] ? <code>:{focused.shortcodes[0]}:</code> : null}
          </>
        ) : (
          <span class="emoji-preview-name">{t('emoji.pick')}</span>
        )}
      </div>
    </dialog>
  );
}
