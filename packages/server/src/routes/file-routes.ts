import type { MultipartFile } from '@fastify/multipart';
import { createId, FileRecordSchema, ForbiddenError, IdSchema, ValidationError } from '@kaiwa/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ClamavScanner } from '../files/clamav-scanner.js';
import { contentDisposition } from '../files/content-disposition.js';
import { PdfPreviewError, PdfPreviewer } from '../files/pdf-preview.js';
import {
  isInlineImage,
  isTypeAllowed,
  nameMatchingType,
  refineMediaType,
  safeFileName,
  type UploadFacts,
  UploadInspector,
} from '../files/upload-inspector.js';
import { type ScanVerdict, UploadScanError, type UploadScanner } from '../files/upload-scanner.js';
import { SpooledUpload } from '../files/upload-spool.js';
import {
  errorResponses,
  FileParamsSchema,
  FileQueryStringSchema,
  NoContentSchema,
} from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import { HttpError } from '../http/http-error.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['files'];

const UploadFieldsSchema = z.object({
  roomId: IdSchema.optional(),
  projectId: IdSchema.optional(),
  ticketId: IdSchema.optional(),
});

/** Multipart overhead allowed on top of the file size before a request is refused from its length alone. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/**
 * Downloads are documents of their own: no scripts, no styles, no plugins, sandboxed. Exactly this policy:
 * without `useDefaults: false` helmet merges its defaults in (`style-src 'unsafe-inline'` and more).
 */
const DOWNLOAD_CSP = {
  useDefaults: false,
  directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"], sandbox: [] },
};

/** How long a client waits before retrying while the malware scanner is away. */
const SCANNER_RETRY_AFTER_SECONDS = 30;

/** A storage key: year/month/new id. Made here, never from anything the client sent. */
function newStorageKey(now = new Date()): string {
  const month = String(now.getUTCMonth() + 1).padStart(2, '0');
  return `${now.getUTCFullYear()}/${month}/${createId()}`;
}

/** How long a pre-signed download link stays valid. */
const PRESIGNED_DOWNLOAD_SECONDS = 300;

/** PDFs larger than this get no preview (they download as ever). */
const MAX_PREVIEW_PDF_BYTES = 50 * 1024 * 1024;

/** How a failed preview answers: the caller's choice of page, or the document itself. */
function previewHttpError(error: PdfPreviewError): HttpError {
  switch (error.code) {
    case 'page_out_of_range':
      return new HttpError(400, 'validation_failed', error.message, {
        issues: [{ path: ['page'], message: error.message }],
      });
    case 'busy':
      return new HttpError(503, 'busy', error.message);
    default:
      return new HttpError(422, 'preview_failed', error.message, { reason: error.code });
  }
}

/**
 * Uploads, file records, and downloads with safe headers. An upload is held in a private temporary file
 * while it is judged — target and permission, type from the bytes against the allow-list, malware scan when
 * KAIWA_CLAMAV is set — and only an accepted one is copied to the blob store and recorded by the engine; its
 * name is made to agree with its type.
 */

export function registerFileRoutes(
  app: ApiInstance,
  { engine, blobs, presigner, config, metrics }: RouteContext,
): void {
  const scanning = config.malwareScan
    ? {
        scanner: new ClamavScanner({
          address: config.malwareScan.address,
          timeoutMs: config.malwareScan.timeoutMs,
        }) as UploadScanner,
        settings: config.malwareScan,
      }
    : undefined;
  app.post(
    '/files',
    {
      config: { userRateLimit: 'uploads', access: { signedIn: 'mine' } },
      schema: {
        tags,
        summary: 'Upload a file into a room, a project or a ticket',
        description:
          'multipart/form-data with the fields roomId, projectId and/or ticketId, and one file. The type is ' +
          'judged from the content and must be on the allow-list (see GET /api/v1/server).',
        consumes: ['multipart/form-data'],
        response: { 201: FileRecordSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const declaredLength = Number(request.headers['content-length']);
      if (declaredLength > config.maxUploadBytes + MULTIPART_OVERHEAD_BYTES) {
        metrics.uploads.inc({ outcome: 'too_large' });
        throw new HttpError(413, 'payload_too_large', `files may be at most ${config.maxUploadBytes} bytes`);
      }
      if (!request.isMultipart()) {
        throw new HttpError(415, 'unsupported_media_type', 'send multipart/form-data with one file');
      }

      const fields: Record<string, string> = {};
      let spooled: { upload: SpooledUpload; name: string; facts: UploadFacts } | undefined;
      /** The target already checked, so a check is not repeated unless later fields changed it. */
      let checkedTarget: string | undefined;
      const checkTarget = async () => {
        const target = uploadTarget(fields);
        if (JSON.stringify(target) === checkedTarget) return target;
        await refuseUnpostableTarget(user.id, target);
        checkedTarget = JSON.stringify(target);
        return target;
      };
      let storedKey: string | undefined;
      try {
        for await (const part of request.parts()) {
          if (part.type === 'field') {
            if (typeof part.value === 'string' && part.fieldname in UploadFieldsSchema.shape) {
              fields[part.fieldname] = part.value;
            }
            continue;
          }
          // Fields sent before the file (as browsers do) are checked before a byte of it is kept.
          if (Object.keys(fields).length > 0) await checkTarget();
          spooled = await spoolUpload(part);
        }
        if (!spooled) throw ValidationError.field('file', 'attach one file');
        const target = await checkTarget();
        const { facts } = spooled;
        if (!isTypeAllowed(facts.mimeType, config.uploadAllowedTypes)) {
          metrics.uploads.inc({ outcome: 'rejected_type' });
          throw new HttpError(
            415,
            'file_type_not_allowed',
            `files of type ${facts.mimeType} are not allowed`,
            {
              detectedType: facts.mimeType,
              allowedTypes: config.uploadAllowedTypes,
            },
          );
        }
        if (scanning) await scanUpload(scanning, spooled.upload, { userId: user.id, facts, reply, request });

        // Accepted: only now do the bytes reach the blob store.
        const key = newStorageKey();
        await blobs.put(key, spooled.upload.stream());
        storedKey = key;
        const file = await engine.createFileRecord(user.id, {
          ...target,
          name: nameMatchingType(spooled.name, facts),
          mimeType: facts.mimeType,
          size: facts.size,
          sha256: facts.sha256,
          storageKey: key,
        });
        metrics.uploads.inc({ outcome: 'stored' });
        metrics.uploadedBytes.inc(file.size);
        return reply.status(201).send(file);
      } catch (error) {
        // Nothing half-written: bytes without a record are removed.
        if (storedKey) {
          await blobs.delete(storedKey).catch((deleteError: unknown) => {
            request.log.error({ err: deleteError, key: storedKey }, 'could not remove a rejected upload');
          });
        }
        const code = (error as { code?: string }).code;
        if (code === 'FST_REQ_FILE_TOO_LARGE') metrics.uploads.inc({ outcome: 'too_large' });
        else if (code === 'forbidden' || code === 'not_found') metrics.uploads.inc({ outcome: 'denied' });
        else if (!(error instanceof HttpError)) metrics.uploads.inc({ outcome: 'failed' });
        throw error;
      } finally {
        await spooled?.upload.discard();
      }
    },
  );

  /** The upload's room, project and/or ticket, validated, naming the field. */
  function uploadTarget(fields: Record<string, string>) {
    const target = UploadFieldsSchema.safeParse(fields);
    if (!target.success) {
      throw new ValidationError(
        target.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })),
      );
    }
    return target.data;
  }

  /**
   * Refuses, before any byte is kept, an upload the engine would refuse: the target must exist and be
   * readable (404 otherwise), the uploader must be a member of the room and the room not archived, projects
   * and tickets are not for guests (403). It applies the engine's rules through the engine's own reads;
   * `createFileRecord` checks again when it writes the record and stays the authority.
   */
  async function refuseUnpostableTarget(userId: string, target: z.output<typeof UploadFieldsSchema>) {
    if (!target.roomId && !target.projectId && !target.ticketId) {
      throw ValidationError.field('roomId', 'a file must be linked to a room, a project or a ticket');
    }
    if (target.roomId) {
      const room = await engine.getRoom(userId, target.roomId);
      if (!(await engine.findMembership(userId, room.id))) {
        throw new ForbiddenError('upload file', 'join the room first');
      }
      if (room.archived) throw new ForbiddenError('upload file', 'the room is archived');
    }
    if (target.projectId) await engine.getProject(userId, target.projectId);
    if (target.ticketId) {
      const ticket = await engine.getTicket(userId, target.ticketId);
      if (target.projectId && ticket.projectId !== target.projectId) {
        throw ValidationError.field('ticketId', 'the ticket belongs to another project');
      }
    }
  }

  /** Keeps the file in a private temporary file, judging its type on the way. */
  async function spoolUpload(part: MultipartFile) {
    const inspector = new UploadInspector();
    const upload = await SpooledUpload.write(part.file, (chunk) => inspector.update(chunk));
    // busboy ends a file that hit the size limit without an error when asked not to throw; never keep one.
    if (part.file.truncated) {
      await upload.discard();
      throw new HttpError(413, 'payload_too_large', `files may be at most ${config.maxUploadBytes} bytes`);
    }
    return {
      upload,
      name: safeFileName(part.filename),
      facts: refineMediaType(await inspector.finish(), part.mimetype),
    };
  }

  /**
   * Asks the scanner about an accepted upload. Infected: 422 `malware_detected`. No verdict: with
   * `onError: deny` 503 `scanner_unavailable` (or 413 when clamd refuses the size, which a retry cannot fix),
   * with `allow` the upload goes on and a warning is logged.
   */
  async function scanUpload(
    { scanner, settings }: NonNullable<typeof scanning>,
    upload: SpooledUpload,
    context: { userId: string; facts: UploadFacts; reply: FastifyReply; request: FastifyRequest },
  ): Promise<void> {
    const started = performance.now();
    const observe = (result: 'clean' | 'infected' | 'error') => {
      metrics.uploadScans.inc({ result });
      metrics.uploadScanDuration.observe({ result }, (performance.now() - started) / 1000);
    };
    const about = { userId: context.userId, sha256: context.facts.sha256, size: context.facts.size };
    let verdict: ScanVerdict;
    try {
      verdict = await scanner.scan(upload.open());
    } catch (error) {
      if (!(error instanceof UploadScanError)) throw error;
      observe('error');
      if (settings.onError === 'allow') {
        context.request.log.warn(
          { ...about, reason: error.reason, err: error },
          'upload kept unscanned: the malware scanner gave no verdict (KAIWA_CLAMAV_ON_ERROR=allow)',
        );
        return;
      }
      context.request.log.warn({ ...about, reason: error.reason }, error.message);
      metrics.uploads.inc({ outcome: 'scanner_unavailable' });
      if (error.reason === 'size_limit') {
        throw new HttpError(413, 'payload_too_large', 'the file is larger than the malware scanner accepts', {
          reason: 'scanner_limit',
        });
      }
      context.reply.header('retry-after', String(SCANNER_RETRY_AFTER_SECONDS));
      throw new HttpError(
        503,
        'scanner_unavailable',
        'uploads cannot be checked for malware right now; try again later',
        {
          retryable: true,
        },
      );
    }
    observe(verdict.result);
    if (verdict.result === 'infected') {
      context.request.log.warn({ ...about, signature: verdict.signature }, 'upload refused: malware found');
      metrics.uploads.inc({ outcome: 'infected' });
      throw new HttpError(422, 'malware_detected', 'the file contains malware and was not stored', {
        signature: verdict.signature,
      });
    }
  }

  app.get(
    '/files',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary: 'Files of a room, a project or a ticket',
        querystring: FileQueryStringSchema,
        response: { 200: z.object({ files: z.array(FileRecordSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ files: await engine.listFiles(requireUser(request).id, request.query) }),
  );

  app.get(
    '/files/:fileId',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary: "A file's record",
        params: FileParamsSchema,
        response: { 200: FileRecordSchema, ...errorResponses },
      },
    },
    async (request) => engine.getFileRecord(requireUser(request).id, request.params.fileId),
  );

  app.get(
    '/files/:fileId/content',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      helmet: { contentSecurityPolicy: DOWNLOAD_CSP, enableCSPNonces: false },
      schema: {
        tags,
        summary: "A file's bytes; images show inline, everything else downloads (or ?download=true)",
        params: FileParamsSchema,
        querystring: z.object({ download: z.enum(['true', 'false', '1', '0']).optional() }),
        produces: ['application/octet-stream'],
      },
    },
    async (request, reply) => {
      const file = await engine.getFileRecord(requireUser(request).id, request.params.fileId);
      const etag = `"${file.sha256}"`;
      reply.header('etag', etag).header('cache-control', 'private, max-age=300');
      if (request.headers['if-none-match'] === etag) return reply.status(304).send();
      const download = request.query.download === 'true' || request.query.download === '1';
      const disposition = !download && isInlineImage(file.mimeType) ? 'inline' : 'attachment';
      if (presigner) {
        // The bytes come straight from the bucket; the link lives a few minutes, the redirect less.
        const { url } = await presigner.presignDownload(file.storageKey, {
          expiresInSeconds: PRESIGNED_DOWNLOAD_SECONDS,
          fileName: file.name,
          inline: disposition === 'inline',
          contentType: file.mimeType === 'text/plain' ? 'text/plain; charset=utf-8' : file.mimeType,
        });
        return reply.header('cache-control', 'private, max-age=60').redirect(url, 302);
      }
      // A web ReadableStream: Fastify writes it with backpressure and cancels it when the client goes away.
      const stream = await blobs.get(file.storageKey);
      return reply
        .header('content-type', file.mimeType === 'text/plain' ? 'text/plain; charset=utf-8' : file.mimeType)
        .header('content-length', file.size)
        .header('content-disposition', contentDisposition(disposition, file.name))
        .send(stream);
    },
  );

  let previewer: PdfPreviewer | undefined;
  app.get(
    '/files/:fileId/preview',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary:
          'A page of a PDF file as a PNG image (`X-Page-Count` says how many pages it has), for a preview; 415 for other files',
        params: FileParamsSchema,
        querystring: z.object({ page: z.coerce.number().int().min(1).max(100_000).default(1) }),
        produces: ['image/png'],
      },
    },
    async (request, reply) => {
      const file = await engine.getFileRecord(requireUser(request).id, request.params.fileId);
      if (file.mimeType !== 'application/pdf') {
        throw new HttpError(
          415,
          'unsupported_media_type',
          `${file.name} is not a PDF; only PDFs have page previews`,
        );
      }
      if (file.size > MAX_PREVIEW_PDF_BYTES) {
        throw new HttpError(422, 'preview_failed', `${file.name} is too large to preview; download it`, {
          reason: 'too_large',
        });
      }
      const { page } = request.query;
      const etag = `"${file.sha256}-p${page}"`;
      if (request.headers['if-none-match'] === etag) return reply.status(304).send();
      const bytes = new Uint8Array(await new Response(await blobs.get(file.storageKey)).arrayBuffer());
      previewer ??= new PdfPreviewer();
      let rendered: Awaited<ReturnType<PdfPreviewer['render']>>;
      try {
        rendered = await previewer.render(bytes, page, `${file.sha256}:${page}`);
      } catch (error) {
        if (error instanceof PdfPreviewError) throw previewHttpError(error);
        throw error;
      }
      return reply
        .header('etag', etag)
        .header('cache-control', 'private, max-age=300')
        .header('x-page-count', String(rendered.pageCount))
        .header('content-type', 'image/png')
        .header('content-disposition', contentDisposition('inline', `${file.name}-page-${page}.png`))
        .send(rendered.png);
    },
  );

  app.delete(
    '/files/:fileId',
    {
      config: { access: { signedIn: 'mine', moderator: 'visible', admin: 'visible' } },
      schema: {
        tags,
        summary: 'Delete a file (uploader, room moderators, staff)',
        params: FileParamsSchema,
        response: { 204: NoContentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const file = await engine.deleteFileRecord(requireUser(request).id, request.params.fileId);
      await blobs.delete(file.storageKey).catch((error: unknown) => {
        // The record is gone, so nobody can reach the bytes; an orphan blob only costs disk space.
        request.log.error(
          { err: error, key: file.storageKey },
          'could not delete the bytes of a deleted file',
        );
      });
      return reply.status(204).send(null);
    },
  );
}
