import { KaiwaBaseError } from '@kaiwa/core';

const marker = Symbol.for('kaiwa.error.PluginError');

export type PluginErrorCode =
  /** The manifest or a settings value broke its schema; `issues` names every problem. */
  | 'invalid_manifest'
  | 'invalid_settings'
  /** The manifest's `engines.kaiwa` range excludes this Kaiwa. */
  | 'incompatible_engine'
  /** The plugin did not answer within the call's deadline. */
  | 'timeout'
  /** The plugin is not running (stopped, restarting, or gave up after too many crashes). */
  | 'not_running'
  /** No running plugin provides the command or step type. */
  | 'not_found'
  /** The plugin answered with an error. */
  | 'plugin_failed'
  /** The plugin's answer broke Kaiwa's rules (an HTTP answer with a header it may not set, say); `issues` names each. */
  | 'invalid_response'
  /** A call the manifest does not allow (an outbound request to a host, port or scheme it does not declare, too). */
  | 'capability_denied'
  /** A plugin's outbound request to a declared name that resolves to a private, loopback or link-local address. */
  | 'address_denied'
  /** A plugin's outbound request body over 1 MiB, or the answer over 5 MiB. */
  | 'body_too_large'
  /** A plugin made more outbound requests than its limit (at once, or per minute). */
  | 'rate_limited'
  /** A plugin's outbound request failed: DNS, connection, TLS, too many redirects, or no answer in time. */
  | 'http_failed'
  /** The runtime cannot give what the manifest or the host asks (e.g. network isolation). */
  | 'unsupported'
  | 'network_isolation_unavailable'
  /** A plugin asks for the container runtime and no container engine (podman, Docker) answers. */
  | 'container_engine_unavailable'
  /** The plugin process could not start or failed its handshake. */
  | 'start_failed'
  /** A plugin tarball's SHA-256 is not the one the admin gave. */
  | 'checksum_mismatch'
  /** A plugin tarball Kaiwa will not unpack (a path leading out, a link, a device file, too large); `issues` names each entry. */
  | 'invalid_package'
  /** A plugin with this id is installed already (upgrade it instead). */
  | 'already_installed'
  /** An upgrade's version is not higher than the installed one. */
  | 'not_an_upgrade'
  /** An upgrade failed to start, migrate or pass its health check; the old version was put back. */
  | 'rolled_back';

/** A problem in a manifest or settings document, with its path (`['capabilities', 'slashCommands', 0, 'name']`). */
export interface PluginIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Every error the plugin host throws on purpose. `code` says what happened; timeouts and `not_running` are
 * retryable (the supervisor restarts the plugin).
 *
 * @example
 * try {
 *   await host.runCommand({ command: 'hello', args: '', roomId, userId });
 * } catch (error) {
 *   if (PluginError.isInstance(error) && error.code === 'timeout') return 'The plugin is slow right now.';
 *   throw error;
 * }
 */
export class PluginError extends KaiwaBaseError<PluginErrorCode> {
  readonly [marker] = true;
  /** The plugin concerned, when there is one. */
  readonly pluginId: string | undefined;
  /** For `invalid_manifest`, `invalid_settings`, `invalid_response` and `invalid_package`: every problem with its path. */
  readonly issues: PluginIssue[];

  constructor(
    code: PluginErrorCode,
    message: string,
    options: { pluginId?: string; issues?: PluginIssue[]; cause?: unknown; isRetryable?: boolean } = {},
  ) {
    super(code, message, {
      ...('cause' in options ? { cause: options.cause } : {}),
      isRetryable: options.isRetryable ?? (code === 'timeout' || code === 'not_running'),
    });
    this.name = 'PluginError';
    this.pluginId = options.pluginId;
    this.issues = options.issues ?? [];
  }

  /** True for an error of this family, also from another copy of this package. */
  static override isInstance(value: unknown): value is PluginError {
    return KaiwaBaseError.hasMarker(value, marker);
  }
}

/** Formats issues as `path: message` lines, for error messages and logs. */
export function describeIssues(issues: PluginIssue[]): string {
  return issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
