/**
 * Reads a request body under MAX_BODY_BYTES: a declared Content-Length over the limit is refused before reading
 * (an uncompressed body within it is then read in one go), a chunked body is counted while it streams and refused as
 * soon as it passes the limit. The rest of a refused body is read and discarded before the connection closes, so a
 * client that writes its whole body before reading still gets the 413 (src/http/linger.ts: REFUSAL_DRAIN_BYTES,
 * REFUSAL_DRAIN_MS); with `Expect: 100-continue` the 413 on a declared length is sent instead of 100.
 *
 * `Content-Encoding: gzip` (or deflate, br) bodies are decompressed while streaming, and the limit applies to the
 * decompressed bytes too, so a small compression bomb is refused with 413 after at most MAX_BODY_BYTES of output.
 * Any other coding → 415; bytes that are not what the coding says → 400.
 */
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Context } from 'hono';
import { errors, isGatewayError } from '../errors.js';

/** Content codings we decode, as data: name → a fresh streaming decoder. */
const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** The coding of a body: undefined for none/identity; 415 for anything we cannot decode. */
export function contentCoding(header: string | undefined): string | undefined {
  const coding = header?.trim().toLowerCase();
  if (!coding || coding === 'identity') return undefined;
  if (Object.hasOwn(DECODERS, coding)) return coding;
  throw errors.unsupportedMediaType(
    `Unsupported Content-Encoding '${coding.slice(0, 100)}'; use gzip, deflate, br or none (one coding only).`,
  );
}

/**
 * What the headers alone say about the body: 415 for a coding we cannot decode, 413 for a declared length over the
 * limit. Routes may call it before other checks that would refuse a retriable way (503), so a request that can never
 * succeed is told so first; readBody calls it anyway.
 */
export function checkBodyHeaders(c: Context, maxBytes: number): { coding: string | undefined; declared?: string } {
  const coding = contentCoding(c.req.header('content-encoding'));
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(c, maxBytes);
  return declared === undefined ? { coding } : { coding, declared };
}

export async function readBody(c: Context, maxBytes: number): Promise<Buffer> {
  const { coding, declared } = checkBodyHeaders(c, maxBytes);
  // A plain body of a declared length (checked above; Node's parser holds the body to it) is read in one go:
  // @hono/node-server then collects the socket's chunks directly, without a web stream in between.
  if (coding === undefined && declared !== undefined) {
    try {
      return Buffer.from(await c.req.raw.arrayBuffer());
    } catch {
      throw hungUp();
    }
  }
  const stream = c.req.raw.body;
  if (!stream) return Buffer.alloc(0);
  const reader = stream.getReader();
  try {
    if (coding !== undefined) return await decode(reader, coding, c, maxBytes);
    try {
      return await collect(received(reader, c, maxBytes), c, maxBytes);
    } catch (e) {
      if (isGatewayError(e)) throw e;
      throw hungUp();
    }
  } finally {
    reader.releaseLock();
  }
}

/** The body's chunks as they arrive, refused once more than `maxBytes` came (compressed or not). */
async function* received(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  c: Context,
  maxBytes: number,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    total += value.byteLength;
    if (total > maxBytes) throw tooLarge(c, maxBytes);
    yield value;
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>, c: Context, maxBytes: number): Promise<Buffer> {
  const out: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge(c, maxBytes);
    out.push(chunk);
  }
  return out.length === 1
    ? Buffer.from(out[0]!.buffer, out[0]!.byteOffset, out[0]!.byteLength)
    : Buffer.concat(out, total);
}

async function decode(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  coding: string,
  c: Context,
  maxBytes: number,
): Promise<Buffer> {
  let receivedAny = false;
  // pipeline reports an AbortError rather than what the source or the sink threw, so remember our own refusal.
  let refusal: unknown;
  async function* tracked() {
    try {
      for await (const chunk of received(reader, c, maxBytes)) {
        if (chunk.byteLength > 0) receivedAny = true;
        yield chunk;
      }
    } catch (e) {
      refusal ??= e;
      throw e;
    }
  }
  const decoder = DECODERS[coding]!();
  let decoderFailed = false;
  decoder.once('error', () => (decoderFailed = true));
  let body: Buffer = Buffer.alloc(0);
  try {
    // pipeline tears down the decoder as soon as the sink throws (413), so a bomb costs at most maxBytes of output.
    await pipeline(Readable.from(tracked()), decoder, async (decoded: AsyncIterable<Buffer>) => {
      try {
        body = await collect(decoded, c, maxBytes);
      } catch (e) {
        refusal ??= e;
        throw e;
      }
    });
  } catch (e) {
    if (isGatewayError(refusal)) throw refusal;
    if (isGatewayError(e)) throw e;
    if (!receivedAny) return Buffer.alloc(0);
    if (decoderFailed)
      throw errors.badRequest(`Request body is not valid ${coding} data (Content-Encoding: ${coding}).`);
    throw refusal ?? e;
  }
  return body;
}

/** The client went away (or the server's requestTimeout cut it off) mid-body: nobody is left to answer. */
function hungUp() {
  return errors.badRequest('The request body ended early: the connection closed.');
}

function tooLarge(_c: Context, maxBytes: number) {
  return errors.tooLarge(`Request body is larger than the limit of ${maxBytes} bytes (MAX_BODY_BYTES).`);
}

/**
 * The request body as it arrives, decoded when it has a Content-Encoding, for routes that read a body as a stream
 * (v3 streaming produce): the caller applies its own limits. Reading stops when the caller stops asking, so the
 * client's sending is held back by TCP. Fails with the coding's 400 on bytes that are not what it says.
 */
export async function* bodyChunks(c: Context): AsyncGenerator<Uint8Array> {
  const coding = contentCoding(c.req.header('content-encoding'));
  const stream = c.req.raw.body;
  if (!stream) return;
  if (coding === undefined) {
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  const decoder = DECODERS[coding]!();
  const source = Readable.fromWeb(stream as import('node:stream/web').ReadableStream<Uint8Array>);
  source.on('error', (e) => decoder.destroy(e));
  source.pipe(decoder);
  try {
    for await (const chunk of decoder as AsyncIterable<Buffer>) yield chunk;
  } catch (e) {
    if (c.req.raw.signal.aborted) throw e;
    throw errors.badRequest(`Request body is not valid ${coding} data (Content-Encoding: ${coding}).`);
  } finally {
    source.destroy();
    decoder.destroy();
  }
}
