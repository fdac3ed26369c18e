/**
 * Turns a verified token's claims into a Principal (docs/configuration.md, "Callers (JWT)"). Two forms add up:
 *   claim: "kafka": {"produce": ["orders.*"], "consume": [...], "groups": [...], "admin": false}
 *   scope: "kafka:produce:orders.* kafka:consume:x kafka:group:team-a-* kafka:admin"
 * Patterns are globs: `*` matches any run of characters (dots included), everything else is literal.
 * Claims are untrusted shapes: anything malformed grants nothing, and nothing here throws.
 */
import type { JWTPayload } from 'jose';
import { z } from 'zod';
import { isInternalTopic } from '../core/topic-names.js';
import type { Principal, Right } from './principal.js';

export interface PermissionOptions {
  /** AUTH_CLAIM: the claim that holds the object form. */
  claim: string;
  /** AUTH_SCOPE_PREFIX: scope entries that start with it carry rights. */
  scopePrefix: string;
}

/** Compiled globs kept per process; patterns come from a handful of IdP policies, so this stays small. */
export const GLOB_CACHE_MAX = 1024;

const globList = z.array(z.string().min(1));
// A wrong type anywhere in the object means the IdP's mapping is broken: the whole claim grants nothing.
const claimSchema = z.object({
  produce: globList.optional(),
  consume: globList.optional(),
  groups: globList.optional(),
  admin: z.boolean().optional(),
});
const scopeSchema = z.union([z.string(), z.array(z.string())]);

/** Scope entry word → right (`kafka:<word>:<glob>`). */
const SCOPE_RIGHTS: Readonly<Record<string, Right>> = { produce: 'produce', consume: 'consume', group: 'group' };

type Grants = Record<Right, string[]>;

export function principalFromClaims(payload: JWTPayload, opts: PermissionOptions): Principal {
  const grants: Grants = { produce: [], consume: [], group: [] };
  const fromClaim = readClaim(payload[opts.claim], grants);
  const fromScope = readScope(payload.scope, opts.scopePrefix, grants);
  const admin = fromClaim || fromScope;
  const matchers: Record<Right, RegExp[]> = {
    produce: grants.produce.map(compileGlob),
    consume: grants.consume.map(compileGlob),
    group: grants.group.map(compileGlob),
  };
  return Object.freeze({
    sub: typeof payload.sub === 'string' ? payload.sub : null,
    admin,
    expiresAt: typeof payload.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp * 1000 : null,
    can(right: Right, name: string): boolean {
      if (admin) return true;
      if (typeof name !== 'string') return false;
      // Kafka's own topics (`__consumer_offsets`, ...) are for admins only, whatever a glob says.
      if (right !== 'group' && isInternalTopic(name)) return false;
      const list = matchers[right];
      return list?.some((re) => re.test(name));
    },
  });
}

/** Adds the object form's globs to `grants`; returns its admin flag. */
function readClaim(value: unknown, grants: Grants): boolean {
  const parsed = claimSchema.safeParse(value);
  if (!parsed.success) return false;
  const { produce = [], consume = [], groups = [], admin = false } = parsed.data;
  grants.produce.push(...produce);
  grants.consume.push(...consume);
  grants.group.push(...groups);
  return admin;
}

/** Adds the scope form's globs to `grants`; returns whether `<prefix>admin` was granted. */
function readScope(value: unknown, prefix: string, grants: Grants): boolean {
  const parsed = scopeSchema.safeParse(value);
  if (!parsed.success) return false;
  const entries = typeof parsed.data === 'string' ? parsed.data.split(/\s+/) : parsed.data;
  let admin = false;
  for (const entry of entries) {
    if (!entry?.startsWith(prefix)) continue;
    const rest = entry.slice(prefix.length);
    if (rest === 'admin') {
      admin = true;
      continue;
    }
    // Split at the first ':' only: group ids may contain ':' themselves.
    const sep = rest.indexOf(':');
    if (sep <= 0) continue;
    const right = Object.hasOwn(SCOPE_RIGHTS, rest.slice(0, sep)) ? SCOPE_RIGHTS[rest.slice(0, sep)] : undefined;
    const glob = rest.slice(sep + 1);
    if (right && glob) grants[right].push(glob);
  }
  return admin;
}

const globCache = new Map<string, RegExp>();

/**
 * `orders.*` → /^orders\..*$/s, compiled once per process. Middle segments are matched through an atomic
 * lookahead (`(?=(.*?seg))\1`) so a glob with many `*` stays linear on a long name instead of backtracking
 * polynomially (names come from callers; globs only from the IdP).
 */
export function compileGlob(glob: string): RegExp {
  const cached = globCache.get(glob);
  if (cached) return cached;
  const re = new RegExp(globSource(glob), 's');
  if (globCache.size >= GLOB_CACHE_MAX) globCache.delete(globCache.keys().next().value as string);
  globCache.set(glob, re);
  return re;
}

function globSource(glob: string): string {
  const parts = glob.split('*');
  if (parts.length === 1) return `^${escapeRegExp(glob)}$`;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter(Boolean); // `**` is the same as `*`
  const mid = middle.map((seg, i) => `(?=(.*?${escapeRegExp(seg)}))\\${i + 1}`).join('');
  return `^${escapeRegExp(first)}${mid}.*${escapeRegExp(last)}$`;
}

/** Every character with a meaning in a RegExp, escaped (Node 20 has no RegExp.escape). */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
