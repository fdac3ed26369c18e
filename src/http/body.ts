/**
 * Reads a request body under MAX_BODY_BYTES, counting while it streams: a declared Content-Length over the
 * limit is refused before reading, a chunked body as soon as it passes the limit. No `Connection: close` on the
 * 413: Node would destroy the socket as soon as the answer is flushed, and the unread rest of the body turns that
 * into a TCP reset, so a client that writes its whole body before reading (Python's urllib) would see EPIPE or
 * ECONNRESET instead of the 413. The rest is read and discarded instead (@hono/node-server's drain, bounded to
 * 64 MiB / 500 ms, then it closes).
 */
import type { Context } from 'hono';
import { errors } from '../errors.js';

export async function readBody(c: Context, maxBytes: number): Promise<Buffer> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(c, maxBytes);
  const stream = c.req.raw.body;
  if (!stream) return Buffer.alloc(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge(c, maxBytes);
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return chunks.length === 1 ? Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength) : Buffer.concat(chunks, total);
}

function tooLarge(_c: Context, maxBytes: number) {
  return errors.tooLarge(`Request body is larger than the limit of ${maxBytes} bytes (MAX_BODY_BYTES).`);
}
