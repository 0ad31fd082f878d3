import type { UserRole } from '@kaiwa/core';

/*
 * Who may call a route, declared next to the route (`config.access`) and published in the OpenAPI document as
 * `x-kaiwa-access`. The security suite (authorization-matrix.test.ts) calls every documented route as every
 * kind of caller, on targets of three kinds, and fails when the answer disagrees with the declaration — or
 * when a route declares nothing.
 */

/** Every kind of caller the suite plays: no credentials, each role, and a user who must change their password. */
export const CALLER_KINDS = [
  'anonymous',
  'guest',
  'member',
  'moderator',
  'admin',
  'bot',
  'passwordChange',
] as const satisfies readonly ('anonymous' | 'passwordChange' | UserRole)[];
export type CallerKind = (typeof CALLER_KINDS)[number];

/**
 * What one kind of caller gets, in terms of the target in the path (room, message, file, project, ticket,
 * run, user):
 * - `allowed`: any target, also one in a private group the caller is not in (or the route has no target);
 * - `visible`: targets the caller may see — its own, and others' it can reach (a public channel, another
 *   member's message there) — but not those in a private group it is not in;
 * - `mine`: only its own targets (a room it owns, its message, its file, its run, itself);
 * - `denied`: nothing: 401, 403 or 404, and no change in the store;
 * - a list of {@link TargetKind}s, for the odd rule (admins deactivate others, never themselves).
 */
export type AccessOutcome = 'allowed' | 'visible' | 'mine' | 'denied' | readonly TargetKind[];

/**
 * A route's declaration. Keys name caller kinds; `signedIn` stands for every role not named, `everyone` for
 * every kind not named otherwise. Unnamed kinds are `denied`; a user who must change their password is
 * covered by `everyone` or `passwordChange` only, never by `signedIn`.
 *
 * @example
 * // GET /rooms/:roomId — members read their rooms, everyone but guests reads public channels
 * config: { access: { signedIn: 'visible', guest: 'mine' } },
 */
export type AccessDeclaration = { [kind in CallerKind | 'signedIn' | 'everyone']?: AccessOutcome };

/** What `declaration` promises `caller`. */
export function declaredOutcome(declaration: AccessDeclaration, caller: CallerKind): AccessOutcome {
  const named = declaration[caller];
  if (named) return named;
  const signedIn = caller !== 'anonymous' && caller !== 'passwordChange' ? declaration.signedIn : undefined;
  return signedIn ?? declaration.everyone ?? 'denied';
}

/** The three kinds of target the suite tries: the caller's own, someone else's it can reach, a hidden one. */
export type TargetKind = 'mine' | 'others' | 'hidden';

/** Whether `outcome` lets the caller act on a target of `kind`. */
export function allows(outcome: AccessOutcome, kind: TargetKind): boolean {
  if (typeof outcome !== 'string') return outcome.includes(kind);
  switch (outcome) {
    case 'allowed':
      return true;
    case 'visible':
      return kind !== 'hidden';
    case 'mine':
      return kind === 'mine';
    case 'denied':
      return false;
  }
}
