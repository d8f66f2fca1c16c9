// Public answers for a share that cannot be served. The JSON error body carries `state`
// (missing, revoked, expired, taken-down) and, for a take-down, the operator's `reason`,
// so `megafs get` and the page each tell the recipient exactly what happened.
import { MegafsError } from '../../errors.js';
import type { ShareState } from './db.js';

export class ShareUnavailable extends MegafsError {
  constructor(readonly state: 'missing' | 'revoked' | 'expired' | 'taken-down', readonly reason?: string) {
    super(
      state === 'missing' ? 'E_NOT_FOUND' : state === 'taken-down' ? 'E_TAKEN_DOWN' : 'E_GONE',
      state === 'missing' ? 'no such link'
        : state === 'revoked' ? 'this link was revoked by its owner'
          : state === 'expired' ? 'this link has expired'
            : `this link was taken down by the operator: ${reason ?? ''}`,
    );
  }
}

export const STATUS_FOR_STATE = { missing: 404, revoked: 410, expired: 410, 'taken-down': 451 } as const;

/** Throws ShareUnavailable unless the share is live. */
export function requireLive(s: ShareState): asserts s is Extract<ShareState, { state: 'live' }> {
  if (s.state === 'live') return;
  throw new ShareUnavailable(s.state, s.state === 'taken-down' ? s.reason : undefined);
}
