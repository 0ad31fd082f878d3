import type { KaiwaRestClient } from '@kaiwa/client';
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n';
import {
  type DefinitionCheck,
  describeIssue,
  exampleDefinition,
  indentText,
  sortIssues,
  VALIDATE_DELAY_MS,
} from '../workflow-editing';
import type { WorkflowSummary } from '../workflows-timeline';
import { describeError, ErrorText } from './common';

/*
 * The workflow editor (admins): a definition as YAML or JSON, checked by the server as it is typed (after a
 * short pause, through `POST /workflows/validate`, which stores nothing), its problems listed with their path
 * and line; saving defines a new version (`POST /workflows`). Tab indents with spaces; Escape first lets the
 * next Tab leave the field, so keyboard users are never trapped in it.
 */

type CheckState = { state: 'checking' } | { state: 'checked'; text: string; check: DefinitionCheck };

export function WorkflowEditor({
  api,
  initialText,
  roomId,
  onSaved,
  onCancel,
}: {
  api: KaiwaRestClient;
  /** The definition being edited; empty for a new one. */
  initialText: string;
  /** The room the example posts to. */
  roomId: string | undefined;
  onSaved: (record: WorkflowSummary) => void;
  onCancel: () => void;
}) {
  const [text, setText] = useState(initialText || exampleDefinition(roomId));
  const [status, setStatus] = useState<CheckState>({ state: 'checking' });
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const tabLeaves = useRef(false);
  /** Where the caret goes once an indentation has rendered (set right after that render, never later). */
  const pendingSelection = useRef<{ start: number; end: number } | null>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  const fieldId = useId();
  const hintId = useId();
  const problemsId = useId();

  // Checked once typing pauses; an answer for text that has changed since is dropped.
  useEffect(() => {
    setStatus({ state: 'checking' });
    let stale = false;
    const timer = setTimeout(() => {
      api.request<DefinitionCheck>('POST', '/workflows/validate', text).then(
        (check) => {
          if (stale) return;
          setStatus({ state: 'checked', text, check });
          setError(null);
        },
        (caught: unknown) => {
          if (!stale) setError(describeError(caught));
        },
      );
    }, VALIDATE_DELAY_MS);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [api, text]);

  const onKeyDown = (event: KeyboardEvent) => {
    const element = event.currentTarget as HTMLTextAreaElement;
    if (event.key === 'Escape' && !tabLeaves.current) {
      // The first Escape frees Tab to leave the field; the next one closes the dialog as usual.
      event.preventDefault();
      tabLeaves.current = true;
      return;
    }
    if (event.key !== 'Tab' || tabLeaves.current) return;
    event.preventDefault();
    const next = indentText(text, element.selectionStart, element.selectionEnd, event.shiftKey);
    pendingSelection.current = { start: next.start, end: next.end };
    setText(next.text);
  };

  // Not in a later animation frame: text typed or pasted in between would have its caret moved back.
  useLayoutEffect(() => {
    const selection = pendingSelection.current;
    if (!selection) return;
    pendingSelection.current = null;
    field.current?.setSelectionRange(selection.start, selection.end);
  }, [text]);

  /** Puts the caret at the start of a problem's line. */
  const goToLine = (line: number) => {
    const element = field.current;
    if (!element) return;
    let offset = 0;
    for (let current = 1; current < line; current++) offset = text.indexOf('\n', offset) + 1;
    element.focus();
    element.setSelectionRange(offset, offset);
  };

  const checked = status.state === 'checked' && status.text === text ? status.check : undefined;

  const save = async () => {
    setSaving(true);
    try {
      onSaved(await api.request<WorkflowSummary>('POST', '/workflows', text));
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form
      class="workflow-editor"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <div class="workflow-editor-head">
        <label for={fieldId}>{t('workflows.definition')}</label>
        <button
          type="button"
          class="link-button"
          onClick={() => {
            setText(exampleDefinition(roomId));
            field.current?.focus();
          }}
        >
          {t('workflows.fromExample')}
        </button>
      </div>
      <textarea
        ref={field}
        id={fieldId}
        class="workflow-source"
        value={text}
        spellcheck={false}
        autoCapitalize="off"
        autoComplete="off"
        rows={16}
        aria-describedby={`${hintId} ${problemsId}`}
        aria-invalid={checked ? !checked.ok : undefined}
        onInput={(event) => {
          tabLeaves.current = false;
          setText(event.currentTarget.value);
        }}
        onKeyDown={onKeyDown}
      />
      <p id={hintId} class="hint">
        {t('workflows.editorHint')}
      </p>
      <div id={problemsId} class="workflow-check" aria-live="polite">
        {checked === undefined ? (
          <p class="muted">{t('workflows.checking')}</p>
        ) : checked.ok ? (
          <p class="workflow-check-ok">{t('workflows.valid')}</p>
        ) : (
          <>
            <p class="workflow-check-bad">{t('workflows.problems', { count: checked.issues.length })}</p>
            <ul class="workflow-issues">
              {sortIssues(checked.issues).map((issue) => (
                <li key={`${issue.path}:${issue.message}`}>
                  {issue.line ? (
                    <button type="button" class="link-button" onClick={() => goToLine(issue.line!)}>
                      {describeIssue(issue)}
                    </button>
                  ) : (
                    describeIssue(issue)
                  )}
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
      <ErrorText error={error} />
      <div class="dialog-actions">
        <button type="button" class="button" onClick={onCancel}>
          {t('common.cancel')}
        </button>
        <button type="submit" class="button primary" disabled={saving || !checked?.ok}>
          {t('workflows.saveVersion')}
        </button>
      </div>
    </form>
  );
}
