import type { MessageKey, Params } from './i18n';

/*
 * The install and upgrade forms of the admins' plugins screen as data: the checksum an admin pastes (the bare
 * 64 hex digits, or a whole `sha256sum` line with the file name after it), the SHA-256 of the chosen file as
 * the browser computes it (shown beside the pasted one for comparison; the server checks again and is the
 * judge), and a failed install, upgrade or uninstall as the screen explains it: a sentence from the catalogue,
 * every issue the server named (`path: message`), and for a rolled-back upgrade the stage that failed, why, and
 * which version runs again.
 */

/** The pasted checksum as 64 lower-case hex digits, or null when it is none. */
export function normalSha256(text: string): string | null {
  // `sha256sum plugin.tgz` prints "<hash>  plugin.tgz"; a leading "SHA256:" or "sha256=" is common too.
  const first = text.trim().split(/\s+/)[0] ?? '';
  const bare = first.replace(/^sha-?256[:=]/i, '');
  return /^[0-9a-f]{64}$/i.test(bare) ? bare.toLowerCase() : null;
}

/** The SHA-256 of bytes as 64 lower-case hex digits (Web Crypto: browsers in a secure context, Node). */
export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Whether the browser can compute a checksum here (Web Crypto needs a secure context: https or localhost). */
export function canComputeSha256(): boolean {
  return typeof crypto !== 'undefined' && typeof crypto.subtle?.digest === 'function';
}

/** What a rolled-back upgrade reports (422 `upgrade_rolled_back`). */
export interface Rollback {
  stage: 'start' | 'migrate' | 'health' | string;
  reason: string;
  failedVersion: string;
  restoredVersion: string;
  /** Set when the old version did not start again either. */
  restoreError?: string;
}

/** A failed lifecycle call as the screen shows it. */
export interface LifecycleProblem {
  /** The sentence that says what happened, from the catalogue. */
  key: MessageKey;
  params: Params;
  /** Every issue the server named, as `path: message` (just the message where it names no path). */
  issues: string[];
  /** The fields (`file`, `sha256`) an issue names, to mark them. */
  fields: string[];
  rollback: Rollback | null;
}

const TITLES: Record<string, MessageKey> = {
  checksum_mismatch: 'pluginLifecycle.errors.checksumMismatch',
  invalid_package: 'pluginLifecycle.errors.invalidPackage',
  invalid_manifest: 'pluginLifecycle.errors.invalidManifest',
  incompatible_engine: 'pluginLifecycle.errors.incompatibleEngine',
  already_installed: 'pluginLifecycle.errors.alreadyInstalled',
  not_an_upgrade: 'pluginLifecycle.errors.notAnUpgrade',
  plugin_start_failed: 'pluginLifecycle.errors.startFailed',
  upgrade_rolled_back: 'pluginLifecycle.errors.rolledBack',
  validation_failed: 'pluginLifecycle.errors.invalidUpload',
  payload_too_large: 'pluginLifecycle.errors.tooLarge',
  plugins_off: 'pluginLifecycle.errors.pluginsOff',
};

/** Sentences that carry the server's message themselves, or need nothing more. */
const SAYS_IT_ALL = new Set<MessageKey>([
  'pluginLifecycle.errors.startFailed',
  'pluginLifecycle.errors.failed',
  'pluginLifecycle.errors.alreadyInstalled',
  'pluginLifecycle.errors.tooLarge',
  'pluginLifecycle.errors.pluginsOff',
]);

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/**
 * A failed install, upgrade or uninstall explained: a `KaiwaApiError` (duck-typed: code, message, details)
 * by its code, anything else by its message.
 */
export function lifecycleProblem(error: unknown): LifecycleProblem {
  const failure = (error ?? {}) as { code?: unknown; message?: unknown; details?: Record<string, unknown> };
  const code = text(failure.code) ?? '';
  const message = text(failure.message) ?? '';
  const details = failure.details ?? {};
  const issues: string[] = [];
  const fields = new Set<string>();
  if (Array.isArray(details.issues)) {
    for (const issue of details.issues as { path?: unknown; message?: unknown }[]) {
      const path = Array.isArray(issue?.path) ? issue.path.map(String).join('.') : '';
      const said = text(issue?.message);
      if (!said) continue;
      issues.push(path ? `${path}: ${said}` : said);
      const field = Array.isArray(issue.path) ? issue.path[0] : undefined;
      if (field === 'file' || field === 'sha256') fields.add(field);
    }
  }
  if (code === 'checksum_mismatch') fields.add('sha256');
  let rollback: Rollback | null = null;
  if (code === 'upgrade_rolled_back') {
    rollback = {
      stage: text(details.stage) ?? 'start',
      reason: text(details.reason) ?? message,
      failedVersion: text(details.failedVersion) ?? '?',
      restoredVersion: text(details.restoredVersion) ?? '?',
      ...(text(details.restoreError) ? { restoreError: text(details.restoreError) } : {}),
    };
  }
  const key = TITLES[code] ?? 'pluginLifecycle.errors.failed';
  const pluginId = text(details.pluginId) ?? '';
  // The server's own sentence where the catalogue's says less than it and no issue list carries the detail.
  const detail = issues.length === 0 && !rollback && !SAYS_IT_ALL.has(key) ? message : '';
  return { key, params: { message, pluginId, detail }, issues, fields: [...fields], rollback };
}
