/**
 * Plain HTTP written on an upgrade request's raw socket, for the two cases where the WebSocket door answers without
 * a WebSocket: a refusal before the upgrade (the Confluent error body, then close), and an upgrade request that is
 * not for WebSocket at all, served as ordinary HTTP by the app.
 */
import { type IncomingMessage, STATUS_CODES, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCodes, GatewayError, isGatewayError } from '../errors.js';

/** Answers the upgrade request with `e` as `{"error_code": ..., "message": ...}` (any other error: a 500) and closes. */
export function refuseUpgrade(socket: Duplex, e: unknown): void {
  if (socket.destroyed) return;
  const err = isGatewayError(e) ? e : new GatewayError(500, ErrorCodes.INTERNAL, 'Internal server error.');
  const body = JSON.stringify({ error_code: err.errorCode, message: err.message });
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
    ...err.headers,
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  socket.end(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n${head}\r\n\r\n${body}`);
}

/**
 * Serves an upgrade request that is not `Upgrade: websocket` (Java's HttpClient offers h2c on every plain-http
 * request) as ordinary HTTP/1.1 through `listener`, then closes the connection (RFC 9110 §7.8 lets a server ignore
 * an upgrade it does not want).
 */
export function serveAsHttp(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  maxBodyBytes: number,
): void {
  socket.on('error', () => socket.destroy());
  const bare = (status: number) =>
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  // Node's parser stops at an upgrade request's headers and ends the request stream, so its Content-Length body is
  // collected here and handed over as `rawBody`, which @hono/node-server reads as the body.
  const length = Number(req.headers['content-length'] ?? 0);
  if (req.headers['transfer-encoding'] || !Number.isSafeInteger(length) || length < 0) return void bare(400);
  if (length > maxBodyBytes) return void bare(413);
  const chunks: Buffer[] = [];
  let got = 0;
  const serve = () => {
    socket.off('data', feed);
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = Buffer.concat(chunks, got).subarray(0, length);
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.on('finish', () => {
      res.detachSocket(socket as Socket);
      socket.end();
    });
    listener(req, res);
  };
  const feed = (chunk: Buffer) => {
    chunks.push(chunk);
    got += chunk.length;
    if (got >= length) serve();
  };
  if (head.length > 0) chunks.push(head);
  got = head.length;
  if (got >= length) serve();
  else socket.on('data', feed);
}
