import {
  AUDIT_ACTIONS,
  AUDIT_OUTCOMES,
  type AuditEntry,
  IdSchema,
  JsonValueSchema,
  TimestampSchema,
} from '@kaiwa/core';
import { z } from 'zod';
import { apiSchemaRegistry, errorResponses } from '../http/api-schemas.js';
import type { ApiInstance } from '../routes/route-context.js';
import type { AuditLog } from './audit-log.js';

const AuditActionSchema = z.enum(AUDIT_ACTIONS);

export const AuditEntrySchema = z.object({
  id: IdSchema,
  seq: z.number().int().describe('position in the chain, from 1, without gaps'),
  at: z.string(),
  actorId: IdSchema.nullable().describe('who acted; null for the system and anonymous callers'),
  action: AuditActionSchema,
  target: z.object({ type: z.string().nullable(), id: z.string().nullable() }),
  outcome: z.enum(AUDIT_OUTCOMES),
  requestId: z.string().nullable(),
  remoteAddress: z.string().nullable(),
  details: z.record(z.string(), JsonValueSchema),
  previousHash: z.string().describe('hash of the entry before (64 zeros for the first)'),
  hash: z.string().describe('hex sha256(previousHash + RFC 8785 JSON of the entry)'),
});
apiSchemaRegistry.add(AuditEntrySchema, { id: 'AuditEntry' });

/** `a,b` or the parameter repeated: both mean either action. */
const actionsParameter = z
  .preprocess(
    (value) =>
      (Array.isArray(value) ? value : [value]).flatMap((item) =>
        typeof item === 'string' ? item.split(',').filter(Boolean) : [item],
      ),
    z.array(AuditActionSchema).min(1).max(AUDIT_ACTIONS.length),
  )
  .optional()
  .describe(`one action or several, comma-separated: ${AUDIT_ACTIONS.join(', ')}`);

export const AuditQuerySchema = z
  .object({
    action: actionsParameter,
    actorId: IdSchema.optional().describe('entries by this user'),
    targetType: z.string().min(1).max(32).optional(),
    targetId: z.string().min(1).max(128).optional(),
    since: TimestampSchema.optional().describe('entries at or after this time'),
    until: TimestampSchema.optional().describe('entries before this time'),
    cursor: z
      .string()
      .regex(/^[1-9]\d{0,15}$/, 'must be the nextCursor of a previous page')
      .optional()
      .describe('the nextCursor of the previous page'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((query) => !query.targetId || query.targetType, {
    path: ['targetId'],
    message: 'needs targetType',
  });

/** The admin API of the audit log: newest entries first, filtered, in keyset pages. */
export function registerAuditRoutes(app: ApiInstance, audit: AuditLog): void {
  app.get(
    '/admin/audit',
    {
      config: { roles: ['admin'], access: { admin: 'allowed' } },
      schema: {
        tags: ['admin'],
        summary: 'The audit log, newest first (admins)',
        description:
          'Security-relevant actions (sign-ins, password and role changes, accounts, API keys, workflow and ' +
          'platform changes), each hash-chained to the one before; `kaiwa audit verify` checks the chain. ' +
          'Pass `nextCursor` back as `cursor` for the next page; it is null on the last one.',
        querystring: AuditQuerySchema,
        response: {
          200: z.object({ entries: z.array(AuditEntrySchema), nextCursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const query = request.query;
      const rows = await audit.list({
        ...(query.action ? { actions: query.action } : {}),
        ...(query.actorId ? { actorId: query.actorId } : {}),
        ...(query.targetType ? { targetType: query.targetType } : {}),
        ...(query.targetId ? { targetId: query.targetId } : {}),
        ...(query.since ? { since: query.since } : {}),
        ...(query.until ? { until: query.until } : {}),
        ...(query.cursor ? { beforeSeq: Number(query.cursor) } : {}),
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        entries: page.map(publicEntry),
        nextCursor: rows.length > query.limit && last ? String(last.seq) : null,
      };
    },
  );
}

function publicEntry({ targetType, targetId, ...entry }: AuditEntry) {
  return { ...entry, target: { type: targetType, id: targetId } };
}
