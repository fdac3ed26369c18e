/**
 * Who is calling and what they may do. Routes and WebSocket sessions ask only this interface;
 * how a principal is made (JWT claims, scopes, or AUTH_MODE=none) lives in src/auth/.
 */
export type Right = 'produce' | 'consume' | 'group';

export interface Principal {
  /** The token's `sub`; null when authentication is off. */
  readonly sub: string | null;
  readonly admin: boolean;
  /** Epoch ms of the token's `exp`; null when authentication is off. */
  readonly expiresAt: number | null;
  /** May this caller use `name` (a topic for produce/consume, a group id for group)? */
  can(right: Right, name: string): boolean;
}

/** AUTH_MODE=none: every right (the dev default; a warning is logged at start-up). */
export const anonymousPrincipal: Principal = {
  sub: null,
  admin: true,
  expiresAt: null,
  can: () => true,
};
