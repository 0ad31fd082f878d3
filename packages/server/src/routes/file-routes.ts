import { Readable } from 'node:stream';
import type { MultipartFile } from '@fastify/multipart';
import { createId, FileRecordSchema, IdSchema, ValidationError } from '@kaiwa/core';
import { z } from 'zod';
import { contentDisposition } from '../files/content-disposition.js';
import { isInlineImage, isTypeAllowed, safeFileName, UploadInspector } from '../files/upload-inspector.js';
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

/** Downloads are documents of their own: no scripts, no styles, no plugins, sandboxed. */
const DOWNLOAD_CSP = {
  directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"], sandbox: [] },
};

/** A storage key: year/month/new id. Made here, never from anything the client sent. */
function newStorageKey(now = new Date()): string {
  const month = String(now.getUTCMonth() + 1).padStart(2, '0');
  return `${now.getUTCFullYear()}/${month}/${createId()}`;
}

/**
 * Uploads (multipart, type judged from the bytes, checked against the allow-list, stored through the blob
 * store, recorded by the engine), file records, and downloads with safe headers.
 */
/** How long a pre-signed download link stays valid. */
const PRESIGNED_DOWNLOAD_SECONDS = 300;

export function registerFileRoutes(
  app: ApiInstance,
  { engine, blobs, presigner, config, metrics }: RouteContext,
): void {
  app.post(
    '/files',
    {
      config: { access: { signedIn: 'mine' } },
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
      let stored:
        | { key: string; name: string; facts: Awaited<ReturnType<UploadInspector['finish']>> }
        | undefined;
      try {
        for await (const part of request.parts()) {
          if (part.type === 'field') {
            if (typeof part.value === 'string' && part.fieldname in UploadFieldsSchema.shape) {
              fields[part.fieldname] = part.value;
            }
            continue;
          }
          stored = await storeUpload(part);
        }
        if (!stored) throw ValidationError.field('file', 'attach one file');
        const target = UploadFieldsSchema.safeParse(fields);
        if (!target.success) {
          throw new ValidationError(
            target.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })),
          );
        }
        if (!isTypeAllowed(stored.facts.mimeType, config.uploadAllowedTypes)) {
          metrics.uploads.inc({ outcome: 'rejected_type' });
          throw new HttpError(
            415,
            'file_type_not_allowed',
            `files of type ${stored.facts.mimeType} are not allowed`,
            {
              detectedType: stored.facts.mimeType,
              allowedTypes: config.uploadAllowedTypes,
            },
          );
        }
        const file = await engine.createFileRecord(user.id, {
          ...target.data,
          name: stored.name,
          mimeType: stored.facts.mimeType,
          size: stored.facts.size,
          sha256: stored.facts.sha256,
          storageKey: stored.key,
        });
        metrics.uploads.inc({ outcome: 'stored' });
        metrics.uploadedBytes.inc(file.size);
        return reply.status(201).send(file);
      } catch (error) {
        // Nothing half-written: bytes without a record are removed.
        if (stored) {
          await blobs.delete(stored.key).catch((deleteError: unknown) => {
            request.log.error({ err: deleteError, key: stored?.key }, 'could not remove a rejected upload');
          });
        }
        const code = (error as { code?: string }).code;
        if (code === 'FST_REQ_FILE_TOO_LARGE') metrics.uploads.inc({ outcome: 'too_large' });
        else if (code === 'forbidden' || code === 'not_found') metrics.uploads.inc({ outcome: 'denied' });
        else if (!(error instanceof HttpError)) metrics.uploads.inc({ outcome: 'failed' });
        throw error;
      }
    },
  );

  async function storeUpload(part: MultipartFile) {
    const inspector = new UploadInspector();
    const key = newStorageKey();
    const watched = Readable.from(
      (async function* () {
        for await (const chunk of part.file) {
          inspector.update(chunk);
          yield chunk;
        }
      })(),
    );
    await blobs.put(key, watched);
    // busboy ends a file that hit the size limit without an error when asked not to throw; never keep one.
    if (part.file.truncated) {
      await blobs.delete(key);
      throw new HttpError(413, 'payload_too_large', `files may be at most ${config.maxUploadBytes} bytes`);
    }
    return { key, name: safeFileName(part.filename), facts: await inspector.finish() };
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
      const stream = await blobs.get(file.storageKey);
      return reply
        .header('content-type', file.mimeType === 'text/plain' ? 'text/plain; charset=utf-8' : file.mimeType)
        .header('content-length', file.size)
        .header('content-disposition', contentDisposition(disposition, file.name))
        .send(stream);
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
