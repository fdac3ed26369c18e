/**
 * `Expect: 100-continue`: Node answers 100 at once by default, so a client that waits for it then sends its whole
 * body even when the gateway is about to refuse the request. Here 100 goes out only when something starts reading
 * the body; a refusal known before that (401, 403, 413 on the declared length, 415, 503 …) is the answer instead,
 * and a client that waited never sends the body at all.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** For the http server's 'checkContinue' event: call before handing the request to the app. */
export function continueWhenRead(req: IncomingMessage, res: ServerResponse): void {
  // Every way of reading a Readable (hono's web stream, its direct reader, pipe) attaches one of these listeners.
  const onListener = (event: string | symbol) => {
    if (event !== 'data' && event !== 'readable') return;
    req.off('newListener', onListener);
    // After a final answer Node dumps the body itself (and an answer was given): no 100 then.
    if (!res.headersSent && !res.writableEnded) res.writeContinue();
  };
  req.on('newListener', onListener);
}
