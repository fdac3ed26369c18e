/**
 * HTTP `Accept` negotiation reduced to the one question the gateway asks: does the header admit a type we can
 * answer with? Media ranges are compared lower-cased without parameters; a range with `q=0` is a refusal, not an
 * offer. No header (or an empty one) admits everything.
 */
export function acceptAdmits(accept: string | undefined, admits: (mediaType: string) => boolean): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (!type) continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    if (admits(type)) return true;
  }
  return false;
}
