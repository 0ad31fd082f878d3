import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ApiInstance } from '../routes/route-context.js';
import type { AuditLog } from './audit-log.js';

/**
 * Records every call of an admin-only route that changes something (any method but GET and HEAD) and whose
 * handler recorded nothing more specific, as `admin.action` with the route in `details.route`: successes,
 * failures, and refusals of callers who are not admins (`denied`). Install it in the API scope after the
 * authentication hook.
 *
 * @example installAdminActionAudit(routes, audit);
 */
export function installAdminActionAudit(scope: ApiInstance, audit: AuditLog): void {
  scope.addHook('onResponse', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const roles = request.routeOptions.config?.roles;
    if (roles?.length !== 1 || roles[0] !== 'admin') return;
    if (audit.wasRecorded(request)) return;
    const status = reply.statusCode;
    await audit.record({
      action: 'admin.action',
      outcome: status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'failure',
      actorId: request.user?.id ?? null,
      details: { route: `${request.method} ${request.routeOptions.url ?? request.url}`, status },
      request,
    });
  });
}

/**
 * Records `platform.configured` when the bridge file the server starts with differs from the one the
 * last such entry describes (by its SHA-256), with the platform names; the file's content is not
 * recorded, it may hold tokens.
 *
 * @example await recordPlatformConfiguration(audit, config.bridgeFile, [...platforms.platforms.keys()]);
 */
export async function recordPlatformConfiguration(
  audit: AuditLog,
  file: string,
  platforms: string[],
): Promise<void> {
  const digest = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  const [last] = await audit.list({ actions: ['platform.configured'], limit: 1 });
  if (last?.details.digest === digest) return;
  await audit.record({
    action: 'platform.configured',
    target: { type: 'bridge', id: null },
    details: { platforms: [...platforms].sort(), digest, previousDigest: last?.details.digest ?? null },
  });
}
