import type { FileRecord, ServerInfo } from '@kaiwa/protocol';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { requestEdit } from '../edit-request';
import { useFileDrop } from '../file-drop';
import { formatSize } from '../format';
import { useController } from '../hooks';
import { t } from '../i18n';
import { askCommand, askKnowledge, useKnowledgeInfo } from '../knowledge';
import { AssistantNotice } from './AssistantNotice';
import { useComposerCompletion } from './Autocomplete';
import { describeError } from './common';
import { Icon } from './icons';
import { lazyComponent } from './lazy';
import { VoiceRecorder } from './VoiceRecorder';

// Shown when its button is pressed: fetched then.
const EmojiPicker = lazyComponent(() => import('./rare-screens').then((module) => module.EmojiPicker));

/** Unsent text per room and thread, kept while switching rooms. */
const drafts = new Map<string, string>();

/** Forgets every draft (at sign-out, so the next person does not see them). */
export function clearDrafts(): void {
  drafts.clear();
}

export function Composer({
  roomId,
  threadRootId,
  label,
  server,
  id,
}: {
  roomId: string;
  threadRootId?: string;
  label: string;
  server: ServerInfo;
  id?: string;
}) {
  const controller = useController();
  const draftKey = `${roomId}/${threadRootId ?? ''}`;
  const [text, setText] = useState(() => drafts.get(draftKey) ?? '');
  const [files, setFiles] = useState<FileRecord[]>([]);
  const [uploading, setUploading] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const fieldId = useId();
  const fileInput = useRef<HTMLInputElement>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  const form = useRef<HTMLFormElement>(null);
  const emojiButton = useRef<HTMLButtonElement>(null);
  const [pickingEmoji, setPickingEmoji] = useState(false);
  const knowledge = useKnowledgeInfo();
  const directPeer = controller.state.directPeer(roomId);

  useEffect(() => {
    if (!threadRootId) return;
    field.current?.focus();
  }, [threadRootId]);

  const update = (value: string) => {
    setText(value);
    drafts.set(draftKey, value);
    if (!threadRootId) controller.typing(roomId, value.trim().length > 0);
  };

  const submit = () => {
    if (uploading > 0) return;
    const body = text.trim() ? text : files.map((file) => file.name).join(', ');
    if (!body.trim()) return;
    // `/ask <question>` asks the rooms' knowledge in the search panel; nothing is sent.
    const question = knowledge?.enabled && files.length === 0 ? askCommand(text) : null;
    if (question !== null) {
      update('');
      drafts.delete(draftKey);
      askKnowledge(question);
      return;
    }
    controller.send(roomId, body, {
      ...(threadRootId ? { threadRootId } : {}),
      attachments: files,
    });
    setText('');
    setFiles([]);
    setError(null);
    drafts.delete(draftKey);
    field.current?.focus();
  };

  const attach = async (list: FileList | File[] | null) => {
    if (!list) return;
    for (const file of [...list]) {
      if (file.size > server.maxUploadBytes) {
        setError(t('composer.tooLarge', { name: file.name, size: formatSize(server.maxUploadBytes) }));
        continue;
      }
      setUploading((count) => count + 1);
      try {
        const record = await controller.upload(roomId, file);
        setFiles((current) => [...current, record]);
        setError(null);
      } catch (caught) {
        setError(t('composer.uploadFailed', { name: file.name, error: describeError(caught) }));
      } finally {
        setUploading((count) => count - 1);
      }
    }
    if (fileInput.current) fileInput.current.value = '';
  };

  const completion = useComposerCompletion({ field, roomId, text, onChange: update });
  useFileDrop(form, (dropped) => void attach(dropped));

  /** Up-arrow in an empty composer: the edit form of one's last message here (in a thread: one's last reply). */
  const editLast = (): boolean => {
    const me = controller.state.me;
    if (!me) return false;
    const messages = threadRootId
      ? controller.state.threadReplies(roomId, threadRootId)
      : controller.state.timeline(roomId);
    const last = messages.findLast((message) => message.authorId === me.id && message.deletedAt === null);
    return last !== undefined && requestEdit(last.id);
  };

  const insertEmoji = (emoji: string) => {
    const element = field.current;
    const start = element?.selectionStart ?? text.length;
    const end = element?.selectionEnd ?? start;
    update(text.slice(0, start) + emoji + text.slice(end));
    setPickingEmoji(false);
    requestAnimationFrame(() => {
      field.current?.focus();
      field.current?.setSelectionRange(start + emoji.length, start + emoji.length);
    });
  };

  return (
    <form
      ref={form}
      class="composer"
      id={id}
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <AssistantNotice
        text={text}
        server={server}
        directPeerUsername={directPeer ? controller.state.users.get(directPeer)?.username : undefined}
      />
      {files.length > 0 || uploading > 0 ? (
        <ul class="composer-files" aria-label={t('composer.files')}>
          {files.map((file) => (
            <li key={file.id} class="file-chip">
              <Icon name="file" />
              <span>{file.name}</span>
              <span class="muted">{formatSize(file.size)}</span>
              <button
                type="button"
                class="icon-button small"
                aria-label={t('composer.removeFile', { name: file.name })}
                onClick={() => setFiles(files.filter((each) => each.id !== file.id))}
              >
                <Icon name="close" />
              </button>
            </li>
          ))}
          {uploading > 0 ? (
            <li class="file-chip uploading" role="status">
              {t('composer.uploading')}
            </li>
          ) : null}
        </ul>
      ) : null}
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      {completion.list}
      <div class="composer-row">
        <button
          type="button"
          class="icon-button"
          aria-label={t('composer.attach')}
          title={t('composer.attach')}
          onClick={() => fileInput.current?.click()}
        >
          <Icon name="clip" />
        </button>
        <input
          ref={fileInput}
          type="file"
          class="visually-hidden"
          tabIndex={-1}
          aria-hidden="true"
          multiple
          accept={server.uploadAllowedTypes.join(',')}
          onChange={(event) => void attach(event.currentTarget.files)}
        />
        <label for={fieldId} class="visually-hidden">
          {label}
        </label>
        <textarea
          id={fieldId}
          ref={field}
          class="composer-input"
          rows={1}
          placeholder={label}
          value={text}
          {...completion.fieldProps}
          onInput={(event) => update(event.currentTarget.value)}
          onPaste={(event) => {
            const pasted = [...(event.clipboardData?.files ?? [])];
            if (pasted.length === 0) return;
            event.preventDefault();
            void attach(pasted);
          }}
          onBlur={() => !threadRootId && controller.typing(roomId, false)}
          onKeyDown={(event) => {
            if (completion.onKeyDown(event)) return;
            if (event.key === 'ArrowUp' && !text && files.length === 0 && editLast()) {
              event.preventDefault();
            } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
              event.preventDefault();
              submit();
            }
          }}
        />
        <button
          type="button"
          ref={emojiButton}
          class="icon-button"
          aria-label={t('composer.insertEmoji')}
          aria-expanded={pickingEmoji}
          title={t('composer.emoji')}
          onClick={() => setPickingEmoji(!pickingEmoji)}
        >
          <Icon name="smile" />
        </button>
        {pickingEmoji ? (
          <EmojiPicker
            anchor={emojiButton.current}
            label={t('composer.insertAnEmoji')}
            verb="Insert"
            onPick={insertEmoji}
            onClose={() => setPickingEmoji(false)}
          />
        ) : null}
        <VoiceRecorder roomId={roomId} threadRootId={threadRootId} server={server} />
        <button
          type="submit"
          class="icon-button send-button"
          aria-label={t('composer.send')}
          title={t('composer.sendTitle')}
          disabled={uploading > 0 || (!text.trim() && files.length === 0)}
        >
          <Icon name="send" />
        </button>
      </div>
    </form>
  );
}
