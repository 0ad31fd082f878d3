import type { RefObject } from 'preact';
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import {
  applyCompletion,
  BUILT_IN_COMMANDS,
  type CommandOption,
  findTrigger,
  type Suggestion,
  suggestCommands,
  suggestEmoji,
  suggestPeople,
  suggestRooms,
  workflowCommands,
} from '../composer-completion';
import { emojiDataNow, loadEmojiData } from '../emoji-data';
import { useController } from '../hooks';
import { t } from '../i18n';

/** Workflow commands, fetched once per page (they change rarely); built-in ones while that runs. */
let commandsLoading: Promise<{ id: string; name: string; definition: Record<string, unknown> }[]> | undefined;
/** The slash commands of the server's plugins, asked once per page. */
let pluginCommandsLoading: Promise<CommandOption[]> | undefined;

/**
 * Completion for a composer's textarea: give it the field and its text, spread `fieldProps` on the field,
 * let `onKeyDown` see keys first (it returns true when it used one) and render `list`.
 *
 * The textarea keeps its textbox role (a textarea may have no other) and points at the listbox with
 * `aria-controls` and `aria-activedescendant`, so screen readers follow the highlighted row.
 */
export function useComposerCompletion({
  field,
  roomId,
  text,
  onChange,
}: {
  field: RefObject<HTMLTextAreaElement>;
  roomId: string;
  text: string;
  onChange: (text: string) => void;
}) {
  const controller = useController();
  const listId = useId();
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissedAt, setDismissedAt] = useState<number | null>(null);
  const [, setLoaded] = useState(0);
  const [workflows, setWorkflows] = useState<CommandOption[]>([]);
  const pendingCaret = useRef<number | null>(null);

  // The caret moves with typing, clicks and arrow keys; each of them may open or close the list.
  useEffect(() => {
    const element = field.current;
    if (!element) return;
    const sync = () => setCaret(element.selectionStart ?? 0);
    const kinds = ['input', 'keyup', 'click', 'focus'] as const;
    for (const kind of kinds) element.addEventListener(kind, sync);
    return () => {
      for (const kind of kinds) element.removeEventListener(kind, sync);
    };
  }, [field]);

  useLayoutEffect(() => {
    const element = field.current;
    if (!element || pendingCaret.current === null) return;
    element.focus();
    element.setSelectionRange(pendingCaret.current, pendingCaret.current);
    setCaret(pendingCaret.current);
    pendingCaret.current = null;
  });

  const trigger = findTrigger(text, Math.min(caret, text.length));
  const kind = trigger?.kind;

  useEffect(() => {
    if (kind === 'emoji' && !emojiDataNow()) {
      loadEmojiData().then(
        () => setLoaded((count) => count + 1),
        () => undefined,
      );
    }
    if (kind === 'command') {
      commandsLoading ??= controller.rest.listWorkflows().then(
        (answer) => answer.workflows,
        () => [],
      );
      pluginCommandsLoading ??= controller.rest.listCommands().then(
        (answer) => answer.commands.map(({ name, description }) => ({ name, description })),
        () => [],
      );
      void Promise.all([commandsLoading, pluginCommandsLoading]).then(([list, plugins]) =>
        setWorkflows([...workflowCommands(list, roomId), ...plugins]),
      );
    }
  }, [kind, controller, roomId]);

  let suggestions: Suggestion[] = [];
  if (trigger && trigger.start !== dismissedAt) {
    const state = controller.state;
    if (trigger.kind === 'mention') {
      const people = [...state.users.values()].filter((user) => !user.deactivatedAt);
      const memberIds = new Set(state.rooms.get(roomId)?.memberIds ?? []);
      suggestions = suggestPeople(trigger.query, people, {
        ...(state.me ? { meId: state.me.id } : {}),
        memberIds,
      });
    } else if (trigger.kind === 'room') {
      const rooms = [];
      for (const entry of state.rooms.values()) {
        if (entry.room.kind !== 'direct' && entry.room.name)
          rooms.push({ id: entry.room.id, name: entry.room.name, topic: entry.room.topic });
      }
      suggestions = suggestRooms(trigger.query, rooms);
    } else if (trigger.kind === 'emoji') {
      suggestions = suggestEmoji(trigger.query, emojiDataNow()?.emoji ?? []);
    } else {
      suggestions = suggestCommands(trigger.query, [...workflows, ...BUILT_IN_COMMANDS]);
    }
  }
  const open = trigger !== null && suggestions.length > 0;
  const current = Math.min(active, suggestions.length - 1);

  // A new word to complete starts at the top of its list; Escape closes it until the next one.
  const triggerKey = trigger ? `${trigger.kind}:${trigger.start}:${trigger.query}` : '';
  useEffect(() => setActive(0), [triggerKey]);
  useEffect(() => {
    if (!trigger) setDismissedAt(null);
  }, [trigger === null]);

  const pick = (suggestion: Suggestion) => {
    if (!trigger) return;
    const next = applyCompletion(text, trigger, suggestion.insert);
    pendingCaret.current = next.caret;
    onChange(next.text);
  };

  const onKeyDown = (event: KeyboardEvent): boolean => {
    if (!open || event.isComposing) return false;
    const chosen = suggestions[current];
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((current + step + suggestions.length) % suggestions.length);
    } else if ((event.key === 'Enter' && !event.shiftKey) || (event.key === 'Tab' && !event.shiftKey)) {
      if (chosen) pick(chosen);
    } else if (event.key === 'Escape') {
      setDismissedAt(trigger.start);
    } else {
      return false;
    }
    event.preventDefault();
    event.stopPropagation();
    return true;
  };

  const optionId = (index: number) => `${listId}-option-${index}`;
  const fieldProps = {
    'aria-autocomplete': 'list' as const,
    'aria-controls': open ? listId : undefined,
    'aria-activedescendant': open ? optionId(current) : undefined,
  };

  const list = open ? (
    <div id={listId} class="completion-list" role="listbox" aria-label={t(`completion.${trigger.kind}`)}>
      {suggestions.map((suggestion, index) => (
        <div
          key={suggestion.key}
          id={optionId(index)}
          role="option"
          aria-selected={index === current}
          class={`completion-option${index === current ? ' active' : ''}`}
          // The field keeps the focus, so typing goes on after a click.
          onMouseDown={(event) => event.preventDefault()}
          onMouseMove={() => index !== current && setActive(index)}
          tabIndex={-1}
          onClick={() => pick(suggestion)}
          onKeyDown={(event) => event.key === 'Enter' && pick(suggestion)}
        >
          {suggestion.emoji ? (
            <span class="completion-emoji" aria-hidden="true">
              {suggestion.emoji}
            </span>
          ) : null}
          <span class="completion-label">{suggestion.label}</span>
          {suggestion.detail ? <span class="completion-detail">{suggestion.detail}</span> : null}
        </div>
      ))}
    </div>
  ) : null;

  return { open, onKeyDown, fieldProps, list };
}
