/**
 * Runs `handler` once when `signal` aborts — at once if it already has. An "abort" listener added
 * after the signal fired is never called, and a request handler attaches its listener only after
 * awaiting the body (and, for chat, a grammar): a client that left meanwhile would otherwise leave
 * its generation running to the end.
 */
export function onAbort(signal: AbortSignal, handler: () => void): void {
  if (signal.aborted) handler();
  else signal.addEventListener("abort", handler, { once: true });
}
