import type { ComponentChildren, InputHTMLAttributes } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { t } from '../i18n';
import { describeError } from './common';

/*
 * Form pieces for the room, people and profile screens: a field that shows the server's complaint about it
 * right under the input (a 400's `details.issues` name the field), and a button that asks before it acts.
 */

/** The server's complaints by field, and what is left for the form as a whole. */
export interface FormErrors {
  fields: Record<string, string>;
  general: string | null;
}

export const NO_ERRORS: FormErrors = { fields: {}, general: null };

function sentence(text: string): string {
  const trimmed = text.trim();
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
}

/**
 * Splits an error into the fields of this form (`{ fields: { newPassword: 'Must be at least 10 characters' } }`)
 * and a general message for anything else.
 */
export function formErrors(error: unknown, fields: readonly string[]): FormErrors {
  const details = (error as { details?: { issues?: unknown } } | null)?.details;
  const issues = Array.isArray(details?.issues)
    ? (details.issues as { path?: unknown[]; message?: string }[])
    : [];
  const found: Record<string, string> = {};
  for (const issue of issues) {
    const field = issue.path?.[0];
    if (typeof field === 'string' && fields.includes(field) && issue.message && !found[field]) {
      found[field] = sentence(issue.message);
    }
  }
  return Object.keys(found).length > 0
    ? { fields: found, general: null }
    : { fields: {}, general: describeError(error) };
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'onInput' | 'value'>;

/** A labelled input with an optional hint and the error that belongs to it; focus goes to it when it fails. */
export function FormField({
  label,
  value,
  onValue,
  hint,
  error,
  ...input
}: InputProps & {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: string;
  error?: string | undefined;
}) {
  const id = useId();
  const hintId = useId();
  const errorId = useId();
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (error) ref.current?.focus();
  }, [error]);
  const describedBy = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        ref={ref}
        id={id}
        value={value}
        onInput={(event) => onValue(event.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        {...(describedBy ? { 'aria-describedby': describedBy } : {})}
        {...input}
      />
      {hint ? (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={errorId}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * A button that asks first: pressing it shows the question with Cancel and the confirming button, which runs
 * `onConfirm` (disabled while it runs; its failure is shown beside it).
 */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  danger = false,
  small = false,
  disabled = false,
  accessibleLabel,
  onConfirm,
}: {
  label: ComponentChildren;
  question: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  small?: boolean;
  disabled?: boolean;
  /** The name of the first button when its visible label alone is ambiguous ("Remove Bob"). */
  accessibleLabel?: string;
  onConfirm: () => Promise<void>;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const openerRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  const size = small ? ' small' : '';
  if (!asking) {
    return (
      <button
        ref={openerRef}
        type="button"
        class={`button${size}${danger ? ' danger' : ''}`}
        disabled={disabled}
        aria-label={accessibleLabel}
        onClick={() => {
          setError(null);
          setAsking(true);
        }}
      >
        {label}
      </button>
    );
  }
  return (
    <fieldset class="confirm-inline">
      <legend>{question}</legend>
      <div class="confirm-buttons">
        <button
          type="button"
          class={`button${size}`}
          disabled={busy}
          onClick={() => {
            setAsking(false);
          }}
        >
          {t('common.cancel')}
        </button>
        <button
          ref={confirmRef}
          type="button"
          class={`button${size} ${danger ? 'danger' : 'primary'}`}
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(null);
            try {
              await onConfirm();
              setAsking(false);
            } catch (caught) {
              setError(describeError(caught));
            } finally {
              setBusy(false);
            }
          }}
        >
          {busy ? t('common.working') : confirmLabel}
        </button>
      </div>
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
