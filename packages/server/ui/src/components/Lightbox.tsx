import type { Attachment } from '@kaiwa/protocol';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { formatSize } from '../format';
import { useController, useFileUrl } from '../hooks';
import { t } from '../i18n';
import { describeError } from './common';
import { Icon } from './icons';

/** Lines of a text file shown in its preview. */
const PREVIEW_LINES = 200;

/** Marks an element as an image the lightbox can step to, in the order of the page. */
export function lightboxImageAttributes(attachment: Attachment) {
  return {
    'data-lightbox-file': attachment.fileId,
    'data-lightbox-name': attachment.name,
    'data-lightbox-size': String(attachment.size),
    'data-lightbox-type': attachment.mimeType,
  };
}

function imagesAround(origin: Element | null): Attachment[] {
  const scope = origin?.closest('ol, ul.message-list, [role="log"]') ?? document;
  return [...scope.querySelectorAll<HTMLElement>('[data-lightbox-file]')].map((element) => ({
    fileId: element.dataset.lightboxFile ?? '',
    name: element.dataset.lightboxName ?? '',
    size: Number(element.dataset.lightboxSize ?? 0),
    mimeType: element.dataset.lightboxType ?? 'image/png',
  }));
}

/** Saves a file under its name: fetched with the token, then handed to the browser as a download. */
async function saveFile(controller: ReturnType<typeof useController>, attachment: Attachment) {
  try {
    const link = document.createElement('a');
    link.href = await controller.fileUrl(attachment.fileId);
    link.download = attachment.name;
    link.rel = 'noopener';
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    controller.say(t('message.downloadFailed', { name: attachment.name, error: describeError(error) }));
  }
}

function TextPreview({ attachment }: { attachment: Attachment }) {
  const controller = useController();
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    controller.rest
      .fileBlob(attachment.fileId)
      .then((blob) => blob.slice(0, 512 * 1024).text())
      .then(
        (content) => {
          if (!live) return;
          const lines = content.split('\n');
          setText(
            lines.length > PREVIEW_LINES
              ? `${lines.slice(0, PREVIEW_LINES).join('\n')}\n… (${lines.length - PREVIEW_LINES}+ more lines)`
              : content,
          );
        },
        (caught) => live && setError(describeError(caught)),
      );
    return () => {
      live = false;
    };
  }, [controller, attachment.fileId]);
  if (error) return <p class="error-text">{error}</p>;
  if (text === null)
    return (
      <p class="lightbox-loading" role="status">
        {t('common.loading')}
      </p>
    );
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: the preview scrolls, and keys must reach it
    <pre class="lightbox-text" tabIndex={0}>
      {text}
    </pre>
  );
}

/** A PDF page by page: each page rendered by the server as an image, with the way to the next and back. */
function PdfPreview({ attachment }: { attachment: Attachment }) {
  const controller = useController();
  const [page, setPage] = useState(1);
  const [shown, setShown] = useState<{ page: number; url: string; pageCount: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let url: string | undefined;
    setError(null);
    controller.rest.filePreview(attachment.fileId, page).then(
      ({ image, pageCount }) => {
        url = URL.createObjectURL(image);
        if (live) setShown({ page, url, pageCount });
        else URL.revokeObjectURL(url);
      },
      (caught) => live && setError(describeError(caught)),
    );
    return () => {
      live = false;
      if (url) setTimeout(() => URL.revokeObjectURL(url as string), 1_000);
    };
  }, [controller, attachment.fileId, page]);
  if (error) return <p class="error-text">{error}</p>;
  if (!shown)
    return (
      <p class="lightbox-loading" role="status">
        {t('common.loading')}
      </p>
    );
  return (
    <div class="lightbox-pdf">
      <img
        class="lightbox-pdf-page"
        src={shown.url}
        alt={t('lightbox.pdfPage', { page: shown.page, total: shown.pageCount, name: attachment.name })}
      />
      <div class="lightbox-pdf-nav">
        <button
          type="button"
          class="button small"
          disabled={page <= 1}
          onClick={() => setPage((current) => Math.max(1, current - 1))}
        >
          {t('lightbox.previousPage')}
        </button>
        <span role="status">{t('lightbox.pageOf', { page: shown.page, total: shown.pageCount })}</span>
        <button
          type="button"
          class="button small"
          disabled={page >= shown.pageCount}
          onClick={() => setPage((current) => Math.min(shown.pageCount, current + 1))}
        >
          {t('lightbox.nextPage')}
        </button>
      </div>
    </div>
  );
}

function LightboxImage({ attachment }: { attachment: Attachment }) {
  const url = useFileUrl(attachment.fileId);
  return url ? (
    <img class="lightbox-image" src={url} alt={attachment.name} />
  ) : (
    <p class="lightbox-loading" role="status">
      {t('common.loading')}
    </p>
  );
}

/**
 * A large view of an attachment in a modal `<dialog>`: an image (arrow keys step through the images of
 * the same list), a PDF page by page, or the first lines of a text file. Escape, the close button or a click outside close it.
 */
export function Lightbox({
  attachment,
  origin,
  onClose,
}: {
  attachment: Attachment;
  /** The element that opened it: its list gives the other images, and the focus goes back to it. */
  origin: HTMLElement | null;
  onClose: () => void;
}) {
  const controller = useController();
  const dialog = useRef<HTMLDialogElement>(null);
  const [current, setCurrent] = useState(attachment);
  const isImage = current.mimeType.startsWith('image/');
  const images = isImage ? imagesAround(origin) : [];
  const index = images.findIndex((each) => each.fileId === current.fileId);

  useLayoutEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => {
      if (element?.open) element.close();
      if (origin?.isConnected) origin.focus();
    };
  }, [origin]);

  const step = (by: number) => {
    const next = images[index + by];
    if (next) setCurrent(next);
  };

  return (
    <dialog
      ref={dialog}
      class={`lightbox${isImage ? ' lightbox-image-mode' : ' lightbox-text-mode'}`}
      aria-label={current.name}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      onClick={(event) => {
        const target = event.target as HTMLElement;
        if (target === dialog.current || target.classList.contains('lightbox-stage')) onClose();
      }}
      onKeyDown={(event) => {
        if (event.key === 'Escape') {
          event.preventDefault();
          event.stopPropagation();
          onClose();
        } else if (isImage && event.key === 'ArrowRight') step(1);
        else if (isImage && event.key === 'ArrowLeft') step(-1);
      }}
    >
      <div class="lightbox-bar">
        <span class="lightbox-name">{current.name}</span>
        <span class="lightbox-size">
          {formatSize(current.size)}
          {images.length > 1 && index >= 0
            ? ` · ${t('lightbox.position', { index: index + 1, total: images.length })}`
            : ''}
        </span>
        <button type="button" class="button small" onClick={() => void saveFile(controller, current)}>
          {t('lightbox.download')}
        </button>
        <button
          type="button"
          class="icon-button"
          aria-label={t('common.close')}
          title={t('lightbox.closeTitle')}
          onClick={onClose}
        >
          <Icon name="close" />
        </button>
      </div>
      <div class="lightbox-stage">
        {isImage && index > 0 ? (
          <button
            type="button"
            class="lightbox-step previous"
            aria-label={t('lightbox.previous')}
            onClick={() => step(-1)}
          >
            ‹
          </button>
        ) : null}
        {isImage ? (
          <LightboxImage attachment={current} />
        ) : current.mimeType === 'application/pdf' ? (
          <PdfPreview attachment={current} />
        ) : (
          <TextPreview attachment={current} />
        )}
        {isImage && index >= 0 && index < images.length - 1 ? (
          <button
            type="button"
            class="lightbox-step next"
            aria-label={t('lightbox.next')}
            onClick={() => step(1)}
          >
            ›
          </button>
        ) : null}
      </div>
    </dialog>
  );
}
