/**
 * A server-sent event response as the contract wants it: headers and a `: ping` comment go out at
 * once (so an edge can pass a client's abort upstream from the first moment), and pings repeat
 * whenever nothing else was written for a while (queueing, a long prefill). A client that goes
 * away calls `onAbort`.
 */
import { sseComment } from "@gearbox/shared";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { onAbort } from "./on-abort.js";

export type SendEvent = (text: string) => Promise<void>;

export function eventStream(
  c: Context,
  options: { pingIntervalMs: number; onAbort: () => void },
  body: (send: SendEvent) => Promise<void>,
): Response {
  onAbort(c.req.raw.signal, options.onAbort);
  return streamSSE(c, async (stream) => {
    stream.onAbort(options.onAbort);
    let lastWrite = 0;
    const send: SendEvent = async (text) => {
      lastWrite = performance.now();
      await stream.write(text);
    };
    await send(sseComment("ping"));
    const pinger = setInterval(
      () => {
        if (performance.now() - lastWrite >= options.pingIntervalMs) void send(sseComment("ping"));
      },
      Math.max(10, options.pingIntervalMs / 4),
    );
    try {
      await body(send);
    } finally {
      clearInterval(pinger);
    }
  });
}
