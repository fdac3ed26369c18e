/**
 * Lingering close: a refusal must reach a client that writes its whole request before it reads the answer
 * (Python's urllib and requests, Go's net/http, Java's HttpClient). When the gateway answers while the client is
 * still sending — 413 on the declared length, 401/403/415 before the body is read, 431 on the headers — closing the
 * connection at once leaves unread bytes in the kernel: the close becomes a TCP reset, and the client sees EPIPE or
 * ECONNRESET instead of the answer (and retries it as a network failure). So, like nginx's lingering_close, an answer
 * given before the request's body is in says `Connection: close`, the gateway half-closes its side once the answer
 * is out, reads and discards the rest of the request up to REFUSAL_DRAIN_BYTES and REFUSAL_DRAIN_MS, then closes.
 * A client still sending past either bound is cut off (it may then see a reset: its request was refused anyway).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCodes } from '../errors.js';
import { errorBody } from './errors.js';

export interface DrainLimits {
  /** Bytes read and discarded after the answer, at most (REFUSAL_DRAIN_BYTES). */
  maxBytes: number;
  /** Time spent draining after the answer, at most (REFUSAL_DRAIN_MS). */
  maxMs: number;
}

/** Sockets being drained: Node's parser reports an error again for each later chunk; those are ours to ignore. */
const draining = new WeakSet<Socket>();

/** The request announced a body (a declared length above zero, or chunked). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length.trim() !== '0');
}

/**
 * Arms one request/response pair: if its answer starts before the body is fully in, the answer says
 * `Connection: close` and the connection drains (bounded) instead of closing under the client. Costs nothing for
 * requests without a body or answered after reading it (the usual case: keep-alive stays as it was).
 */
export function lingerOnEarlyAnswer(req: IncomingMessage, res: ServerResponse, limits: DrainLimits): void {
  if (!hasBody(req)) return;
  // writeHead is the last moment the Connection header can still be chosen (hono calls it for every answer;
  // Node's implicit headers go through it too), and Node offers no event there.
  const writeHead = res.writeHead;
  res.writeHead = function writeHeadLingering(this: ServerResponse, ...args: unknown[]) {
    res.writeHead = writeHead;
    const early = !req.complete && !this.headersSent;
    // Node then writes `Connection: close` and ends the connection with socket.destroySoon() after this answer.
    if (early) this.shouldKeepAlive = false;
    const written = (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    // Armed once the head is written: its listener on the body must not pass for a read that calls for 100 Continue.
    if (early && !draining.has(req.socket)) lingerInsteadOfClosing(req.socket, limits, req);
    return written;
  } as ServerResponse['writeHead'];
}

/**
 * Replaces the one socket's destroySoon (what Node's http server calls after a `Connection: close` answer, and
 * @hono/node-server's own 500 ms drain when it gives up) with: half-close after the answer, drain, then close.
 */
function lingerInsteadOfClosing(socket: Socket, limits: DrainLimits, req: IncomingMessage): void {
  draining.add(socket);
  // Counted from the answer on. A listener of our own also keeps Node from "dumping" the request once answered
  // (a dumped request's bytes are dropped inside the parser, uncounted).
  let bodyBytes = 0;
  req.on('data', (chunk: Buffer) => {
    bodyBytes += chunk.length;
  });
  let started = false;
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (started) return;
    started = true;
    if (this.writable) this.end(); // FIN after the answer: the client has all of it, whatever happens next
    drain(this, limits, { req, received: () => bodyBytes });
  };
}

/**
 * Reads and discards what the client still sends until its request is complete (req's 'end'), it half-closes,
 * or a bound is reached. Without a request (a parse failure), Node's parser goes on consuming the socket and
 * failing on each chunk: socket.bytesRead counts what it took.
 */
function drain(socket: Socket, limits: DrainLimits, request?: { req: IncomingMessage; received: () => number }): void {
  if (socket.destroyed) return;
  const req = request?.req;
  const startBytes = socket.bytesRead;
  const received = request?.received ?? (() => socket.bytesRead - startBytes);
  const startReceived = received();
  const cleanup = () => {
    clearTimeout(timer);
    clearInterval(meter);
    req?.off('end', done);
    req?.off('data', measure);
    socket.off('end', done);
  };
  // Everything the client sent was read: closing now sends FIN, not a reset (once our answer is flushed).
  function done() {
    cleanup();
    if (socket.writableFinished || !socket.writable) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  }
  // Past a bound: cut off. Unread bytes may turn this into a reset; the client kept sending a refused request.
  const cutOff = () => {
    cleanup();
    socket.destroy();
  };
  function measure() {
    if (received() - startReceived > limits.maxBytes) cutOff();
  }
  const timer = setTimeout(cutOff, limits.maxMs);
  // No 'data' event without a request: the meter checks the byte bound there.
  const meter = setInterval(measure, 50);
  meter.unref();
  if (req?.complete) return done();
  req?.on('end', done);
  req?.on('data', measure);
  // Never a 'data' listener on the socket itself: Node's http server would stop its parser consuming the socket.
  socket.on('end', done);
  socket.once('close', cleanup);
  socket.resume();
}

/** What a parse failure of Node's HTTP parser is answered with (Confluent's shape, like every other error). */
function clientErrorAnswer(code: string | undefined, maxHeaderBytes: number): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        message: `Request headers are larger than the limit of ${maxHeaderBytes} bytes (MAX_HEADER_BYTES).`,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'Chunk extensions of the request body are too large.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'The request was not received in time (REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS).' };
    default:
      return { status: 400, message: 'Malformed HTTP request.' };
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
};

/**
 * The http server's 'clientError' handler. Node's default writes a bare status line and destroys the socket at
 * once: with the rest of the request (a 60 KB token, then a body) still arriving, that is a reset under the
 * client. This writes a whole JSON answer with `Connection: close`, then drains like an early answer. A client too
 * slow for the timeouts is not waited for again: its 408 is followed by a plain close.
 */
export function clientErrorHandler(limits: DrainLimits, maxHeaderBytes: number) {
  return function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (draining.has(socket)) return; // a later chunk of a connection already answered, or its request timeout
    // Nobody to answer, or an answer of this connection already on the wire (another status line would corrupt it).
    const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || current?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, message } = clientErrorAnswer(err.code, maxHeaderBytes);
    const code = status === 431 ? ErrorCodes.REQUEST_HEADERS_TOO_LARGE : status;
    const body = JSON.stringify(errorBody(code, message));
    socket.write(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    if (status === 408) {
      socket.destroySoon();
      return;
    }
    draining.add(socket);
    socket.end();
    drain(socket, limits);
  };
}
