/**
 * The one place consumer instances ask for rights (so merging the permission helpers touches only this file):
 * `groups` on the instance's group and `consume` on every topic it reads, on every call.
 */
import { requireRight } from '../auth/middleware.js';
import type { Principal } from '../auth/principal.js';

export function requireGroup(principal: Principal, group: string): void {
  requireRight(principal, 'group', group);
}

export function requireTopics(principal: Principal, topics: readonly string[]): void {
  for (const t of topics) requireRight(principal, 'consume', t);
}

export function mayConsume(principal: Principal, topic: string): boolean {
  return principal.can('consume', topic);
}
