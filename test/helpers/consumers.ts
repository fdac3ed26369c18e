// Small HTTP helpers for the v2 consumer API tests (node's http: fetch cannot send Confluent's GET-with-body).
import http from 'node:http';

export const V2 = 'application/vnd.kafka.v2+json';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

export function request(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const u = new URL(path, base);
  const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        hostname: u.hostname,
        port: u.port,
        method,
        path: u.pathname + u.search,
        headers: {
          ...(payload ? { 'content-type': V2, 'content-length': String(payload.length) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(payload);
  });
}

/**
 * Whether a group's members, as each one's `assignments` reads, have settled to one partition each. Each must hold
 * exactly one, and no two the same: a member still on the previous generation's assignment can report one partition
 * that another member already holds in the new one, and is moved again once it rejoins.
 */
export function onePartitionEach(assignments: { topic: string; partition: number }[][]): boolean {
  const held = new Set(assignments.flat().map((p) => `${p.topic}/${p.partition}`));
  return assignments.every((p) => p.length === 1) && held.size === assignments.length;
}
