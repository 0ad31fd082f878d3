/*
 * One PDF page to PNG, in a child process of its own (pdf-preview.ts forks it per request): a hostile or huge
 * PDF can hang or exhaust only this process, which the server kills at its deadline or memory limit. Reads one
 * request over IPC, answers once, exits.
 */
import { renderPdfPages } from '@kaiwa/workflow-steps';

export interface PreviewRequest {
  data: Uint8Array;
  page: number;
  dpi: number;
  maxPixels: number;
}

export type PreviewAnswer =
  | { ok: true; png: Uint8Array; width: number; height: number; pageCount: number }
  | { ok: false; code: 'unreadable' | 'page_out_of_range' | 'too_large'; message: string };

function answer(message: PreviewAnswer): void {
  process.send?.(message, () => process.exit(0));
}

process.once('message', async (request: PreviewRequest) => {
  try {
    const pages = renderPdfPages(request.data, {
      pages: [request.page],
      dpi: request.dpi,
      maxPages: 1,
      maxPixels: request.maxPixels,
    });
    for await (const rendered of pages) {
      answer({
        ok: true,
        png: rendered.png,
        width: rendered.width,
        height: rendered.height,
        pageCount: rendered.pageCount,
      });
      return;
    }
    answer({ ok: false, code: 'unreadable', message: 'the PDF has no pages' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = /has only \d+ pages/.test(message)
      ? 'page_out_of_range'
      : /pixels/.test(message)
        ? 'too_large'
        : 'unreadable';
    answer({ ok: false, code, message });
  }
});
