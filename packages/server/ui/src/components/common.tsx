import type { PresenceStatus, User } from '@kaiwa/protocol';
import type { ComponentChildren, InputHTMLAttributes } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { colourIndex, initials } from '../format';
import { t } from '../i18n';

export function Avatar({ user, size = 'medium' }: { user: User | undefined; size?: 'small' | 'medium' }) {
  const name = user?.displayName ?? '?';
  return (
    <span class={`avatar avatar-${size} colour-${colourIndex(user?.id ?? name)}`} aria-hidden="true">
      {initials(name)}
    </span>
  );
}

export function PresenceDot({ status }: { status: PresenceStatus | undefined }) {
  const value = status ?? 'offline';
  return <span class={`presence presence-${value}`} role="img" aria-label={t(`common.presence.${value}`)} />;
}

/** A modal dialog on the native <dialog>: focus moves in and is trapped, Escape closes it. */
export function Modal({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement as HTMLElement | null;
    if (!dialog.open) dialog.showModal();
    const onCancel = (event: Event) => {
      event.preventDefault();
      closeRef.current();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      opener?.focus?.();
    };
  }, []);
  return (
    <dialog ref={ref} class="modal" aria-labelledby={titleId}>
      <div class="modal-header">
        <h2 id={titleId}>{title}</h2>
        <button type="button" class="icon-button" aria-label={t('common.close')} onClick={() => onClose()}>
          ×
        </button>
      </div>
      <div class="modal-body">{children}</div>
    </dialog>
  );
}

export function ErrorText({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p class="error-text" role="alert">
      {error}
    </p>
  );
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'onInput' | 'value'>;

export function Field({
  label,
  value,
  onValue,
  hint,
  ...input
}: InputProps & { label: string; value: string; onValue: (value: string) => void; hint?: string }) {
  const id = useId();
  const hintId = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        value={value}
        onInput={(event) => onValue(event.currentTarget.value)}
        {...(hint ? { 'aria-describedby': hintId } : {})}
        {...input}
      />
      {hint ? (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** A message for errors of any kind, for people. */
export function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'explanation' in error) {
    return String((error as { explanation: string }).explanation);
  }
  return error instanceof Error ? error.message : t('common.somethingWentWrong');
}
