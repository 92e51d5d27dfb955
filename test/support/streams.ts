/**
 * A chat stream read to its end, or cut off by the client at a chosen point, reporting how it
 * ended: `[DONE]`, an error frame, the client's abort, or neither (a stream that just stops, which
 * the contract never allows). Used by the reliability tests and `bench/soak.ts`.
 */
import { errorBodySchema, SseParser } from "@gearbox/shared";

export interface StreamOutcome {
  status: number;
  text: string;
  /** `[DONE]` arrived. */
  done: boolean;
  finish: string | undefined;
  /** The `error.code` of an error frame, or of the error body of a non-200 answer. */
  error: string | undefined;
  /** The client aborted it (as asked). */
  aborted: boolean;
  /** Content chunks received. */
  chunks: number;
  retryAfter: string | null;
}

export interface AbortPlan {
  /** Abort this many ms after sending (0: at once, perhaps before the headers). */
  afterMs?: number;
  /** Abort once this many content chunks arrived. */
  afterChunks?: number;
}

export async function chatStream(
  url: string,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  plan: AbortPlan = {},
): Promise<StreamOutcome> {
  const abort = new AbortController();
  const outcome: StreamOutcome = {
    status: 0,
    text: "",
    done: false,
    finish: undefined,
    error: undefined,
    aborted: false,
    chunks: 0,
    retryAfter: null,
  };
  // Resolves when the client cuts the stream: a read never waits past the cut (undici's body
  // stream may never settle when the abort comes after its last bytes arrived).
  let onCut: () => void = () => {};
  const cutDone = new Promise<{ done: true; value: undefined }>((resolve) => {
    onCut = () => resolve({ done: true, value: undefined });
  });
  const cut = () => {
    outcome.aborted = true;
    abort.abort();
    onCut();
  };
  const timer = plan.afterMs !== undefined ? setTimeout(cut, plan.afterMs) : undefined;
  try {
    const response = await Promise.race([
      fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ ...body, stream: true }),
        signal: abort.signal,
      }),
      cutDone.then(() => undefined),
    ]);
    if (!response) return outcome;
    outcome.status = response.status;
    outcome.retryAfter = response.headers.get("retry-after");
    if (response.status !== 200) {
      const parsed = errorBodySchema.safeParse(await response.json().catch(() => undefined));
      outcome.error = parsed.success ? (parsed.data.error.code ?? "error") : "not an OpenAI error";
      return outcome;
    }
    const reader = response.body?.getReader();
    const parser = new SseParser();
    while (reader && !outcome.aborted) {
      const { done, value } = await Promise.race([reader.read(), cutDone]);
      if (done) break;
      for (const message of parser.push(value)) {
        if (message.kind !== "event") continue;
        if (message.data === "[DONE]") {
          outcome.done = true;
          continue;
        }
        const chunk = JSON.parse(message.data);
        if (chunk.error) {
          outcome.error = chunk.error.code ?? "error";
          continue;
        }
        const choice = chunk.choices?.[0];
        if (choice?.delta?.content) {
          outcome.text += choice.delta.content;
          outcome.chunks++;
        }
        if (choice?.finish_reason) outcome.finish = choice.finish_reason;
      }
      // Cut after this network chunk, unless it completed the stream.
      if (plan.afterChunks !== undefined && outcome.chunks >= plan.afterChunks && !outcome.done) cut();
    }
  } catch (error) {
    if (!outcome.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  return outcome;
}

/** Polls `condition` until it holds, or fails naming `what`. */
export async function waitUntil(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
