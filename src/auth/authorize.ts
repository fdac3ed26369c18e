/**
 * Every authorisation decision of the gateway and every 403 it sends, in one place: REST routes, the WebSocket
 * upgrade (URL shortcut) and `subscribe` frames all ask here, so a right means the same thing and is refused in
 * the same words everywhere. Refusals are GatewayErrors (403, error_code 40301); the WebSocket side turns them
 * into a `FORBIDDEN` error frame (src/ws/close-codes.ts). What a Principal holds is decided in permissions.ts.
 */
import { isInternalTopic } from '../core/topic-names.js';
import { errors, truncate, type GatewayError } from '../errors.js';
import type { Principal, Right } from './principal.js';

/** Names in 403 messages are caller-supplied: keep them short. */
const MAX_NAME_IN_MESSAGE = 100;

const quoted = (name: string) => `'${truncate(name, MAX_NAME_IN_MESSAGE)}'`;

/** What each right lets a caller do, as 403 messages say it. */
const RIGHT_WORDING: Readonly<Record<Right, string>> = {
  produce: 'produce to topic',
  consume: 'consume from topic',
  group: 'use consumer group',
};

/** The single wording of a missing right: `Not authorized to <what> '<name>'.` */
function refused(what: string, name: string, why = ''): GatewayError {
  return errors.forbidden(`Not authorized to ${what} ${quoted(name)}${why}.`);
}

/** Reading a topic's metadata needs some right on it (produce or consume); admins see everything. */
export function canSeeTopic(p: Principal, topic: string): boolean {
  return p.can('consume', topic) || p.can('produce', topic);
}

/** GET /topics/{topic}, v3 describe: throws 403 unless the caller may see `topic`. */
export function authorizeSeeTopic(p: Principal, topic: string): void {
  if (!canSeeTopic(p, topic)) throw refused('see topic', topic);
}

/**
 * Kafka never takes client writes to its own topics (`__consumer_offsets`, ...): refused for every caller, admins
 * included. The produce route asks this before it reads the body, and authorizeProduce asks it again.
 */
export function refuseInternalWrite(topic: string): void {
  if (isInternalTopic(topic)) throw refused(RIGHT_WORDING.produce, topic, ': it is internal to Kafka');
}

/** Produce: throws 403 unless the caller holds the produce right on `topic` (never for an internal topic). */
export function authorizeProduce(p: Principal, topic: string): void {
  refuseInternalWrite(topic);
  if (!p.can('produce', topic)) throw refused(RIGHT_WORDING.produce, topic);
}

/** What a subscription reads: topics, and for a group subscription its consumer group. */
export interface ReadAccess {
  topics: Iterable<string>;
  group?: string | undefined;
}

/**
 * A subscription (a `subscribe` frame or the upgrade's URL shortcut): throws 403 unless the caller may consume
 * every topic and, for a group, use the group. Topics are checked first, in order, so the message names the first
 * topic refused.
 */
export function authorizeRead(p: Principal, access: ReadAccess): void {
  for (const t of access.topics) if (!p.can('consume', t)) throw refused(RIGHT_WORDING.consume, t);
  if (access.group !== undefined && !p.can('group', access.group)) throw refused(RIGHT_WORDING.group, access.group);
}

/** An HTTP consumer instance's group: throws 403 unless the caller may use `group`. */
export function authorizeGroup(p: Principal, group: string): void {
  if (!p.can('group', group)) throw refused(RIGHT_WORDING.group, group);
}

/** Reading topics through an HTTP consumer instance: throws 403 naming the first topic the caller may not consume. */
export function authorizeConsume(p: Principal, topics: Iterable<string>): void {
  authorizeRead(p, { topics });
}

/** May `p` consume `topic` (a subscription pattern only matches the topics its caller may read)? */
export function canConsume(p: Principal, topic: string): boolean {
  return p.can('consume', topic);
}

/** Does `p` still hold every right `access` needs (after a WebSocket `reauth`)? */
export function mayRead(p: Principal, access: ReadAccess): boolean {
  try {
    authorizeRead(p, access);
    return true;
  } catch {
    return false;
  }
}

/** Admin operations (v3 create/delete, /metrics when not public): throws 403 unless the caller is an admin. */
export function authorizeAdmin(p: Principal): void {
  if (!p.admin) throw errors.forbidden('Not authorized: this operation needs the admin right.');
}

/** A WebSocket upgrade or an event stream from a browser page whose origin is not allowed (auth/origin.ts). */
export function originRefused(what: 'a WebSocket' | 'an event stream' = 'a WebSocket'): GatewayError {
  return errors.forbidden(`Not authorized: this Origin may not open ${what} here.`);
}

/** A `reauth` frame whose token does not do (invalid, or another subject's): the socket keeps its old token. */
export function reauthRefusal(reason: string): string {
  return `reauth refused: ${reason}`;
}
