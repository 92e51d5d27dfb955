/**
 * The body of a backend's answer on its way to the client: the bytes pass through unchanged as
 * they arrive (pulled one read at a time, so nothing is buffered ahead of the client), while the
 * edge reads along for the usage that settles the token budget. A stream that breaks mid-way gets
 * a final `data: {"error":…}` frame; a client that goes away cancels the upstream request.
 */
import {
  ApiError,
  errorBody,
  parseUsageProgress,
  SseParser,
  sseData,
  type Usage,
  type UsageProgress,
  usageSchema,
} from "@gearbox/shared";
import { errorMessage } from "./health.js";

export interface RelayOutcome {
  /** Usage the backend reported (usage chunk or JSON body), if any. */
  usage: Usage | undefined;
  /** The last running usage a stream reported (`: usage` comments), if any. */
  progress: UsageProgress | undefined;
  /** How the body ended. */
  end: "complete" | "failed" | "cancelled";
}

export interface RelayOptions {
  abortUpstream: (reason: unknown) => void;
  /**
   * Called once when the body ends. When it ended by itself (not cancelled) the client's stream
   * closes only after the returned promise settles, so that a client's next request sees this
   * one's token usage accounted.
   */
  onEnd: (outcome: RelayOutcome) => Promise<void> | undefined;
  /** After each chunk passed on, with the stream's last reported usage. */
  onChunk?: (progress: UsageProgress | undefined) => void;
  /**
   * A stream whose backend sends nothing (not even a ping) this long is ended with an error frame
   * and its upstream request aborted: a backend pings every few seconds, so it is hung or gone.
   */
  idleTimeoutMs?: number;
}

/** JSON bodies are read along up to this size to find their usage; larger ones pass unread. */
const MAX_JSON_READ_BYTES = 4 * 1024 * 1024;

export function relayBody(response: Response, options: RelayOptions): ReadableStream<Uint8Array> | null {
  const source = response.body;
  if (!source) {
    void options.onEnd({ usage: undefined, progress: undefined, end: "complete" });
    return null;
  }
  const streaming = (response.headers.get("content-type") ?? "").includes("text/event-stream");
  const watcher = streaming ? new SseWatcher() : new JsonWatcher();
  const reader = source.getReader();
  let ended = false;
  const finish = async (end: RelayOutcome["end"]) => {
    if (ended) return;
    ended = true;
    // The client's bytes are all sent by now; bookkeeping that fails must not add an error frame.
    await options
      .onEnd({ usage: watcher.usage, progress: watcher.progress, end })
      ?.catch((error: unknown) => {
        console.error("gearbox edge: after a response", error);
      });
  };

  const stop = (reason: unknown) => {
    if (ended) return;
    options.abortUpstream(reason);
    reader.cancel(reason).catch(() => {});
    void finish("cancelled");
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await readWithin(reader, streaming ? options.idleTimeoutMs : undefined);
          if (!done) {
            watcher.push(value);
            controller.enqueue(value);
            options.onChunk?.(watcher.progress);
            return;
          }
          const problem = watcher.end();
          if (problem) controller.enqueue(problem);
          await finish(problem ? "failed" : "complete");
          controller.close();
        } catch (error) {
          if (error instanceof IdleTimeout) {
            options.abortUpstream(error);
            reader.cancel(error).catch(() => {});
          }
          const frame = watcher.failure(`The backend failed mid-response: ${errorMessage(error)}`);
          if (frame) controller.enqueue(frame);
          await finish("failed");
          controller.close();
        }
      },
      cancel(reason) {
        stop(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

class IdleTimeout extends Error {}

/** The next read, or an IdleTimeout when nothing arrives within `timeoutMs`. */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  timeoutMs: number | undefined,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (timeoutMs === undefined) return reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new IdleTimeout(`the backend sent nothing for ${Math.round(timeoutMs / 100) / 10} s`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([reader.read(), idle]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

interface BodyWatcher {
  readonly usage: Usage | undefined;
  readonly progress: UsageProgress | undefined;
  push(chunk: Uint8Array): void;
  /** At a clean end of the body: bytes to append when the body was incomplete. */
  end(): Uint8Array | undefined;
  /** After a read error: bytes to append to tell the client, if its format has a way. */
  failure(message: string): Uint8Array | undefined;
}

const encoder = new TextEncoder();

function errorFrame(message: string, needsBlankLine: boolean): Uint8Array {
  const body = errorBody(new ApiError(500, "server_error", "upstream_error", message));
  // A half-sent event is ended first so that the error arrives as an event of its own.
  return encoder.encode((needsBlankLine ? "\n\n" : "") + sseData(body));
}

class SseWatcher implements BodyWatcher {
  usage: Usage | undefined;
  progress: UsageProgress | undefined;
  private readonly parser = new SseParser();
  private sawDone = false;
  private sawError = false;

  push(chunk: Uint8Array): void {
    for (const message of this.parser.push(chunk)) {
      if (message.kind === "comment") {
        this.progress = parseUsageProgress(message.text) ?? this.progress;
        continue;
      }
      if (message.data === "[DONE]") this.sawDone = true;
      else if (message.data.includes('"usage"') || message.data.includes('"error"'))
        this.inspect(message.data);
    }
  }

  end(): Uint8Array | undefined {
    this.parser.end();
    if (this.sawDone || this.sawError) return undefined;
    return errorFrame("The backend closed the stream before it was complete.", this.parser.midEvent);
  }

  failure(message: string): Uint8Array | undefined {
    return errorFrame(message, this.parser.midEvent);
  }

  private inspect(data: string): void {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof value !== "object" || value === null) return;
    if ("error" in value) this.sawError = true;
    const usage = usageSchema.safeParse((value as { usage?: unknown }).usage);
    if (usage.success) this.usage = usage.data;
  }
}

class JsonWatcher implements BodyWatcher {
  usage: Usage | undefined;
  readonly progress = undefined;
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  push(chunk: Uint8Array): void {
    this.size += chunk.byteLength;
    if (this.size <= MAX_JSON_READ_BYTES) this.chunks.push(chunk);
  }

  end(): undefined {
    if (this.size > MAX_JSON_READ_BYTES) return undefined;
    const bytes = new Uint8Array(this.size);
    let offset = 0;
    for (const chunk of this.chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    try {
      const usage = usageSchema.safeParse(
        (JSON.parse(new TextDecoder().decode(bytes)) as { usage?: unknown }).usage,
      );
      if (usage.success) this.usage = usage.data;
    } catch {
      // Not JSON: nothing to learn; the client gets the bytes as they are.
    }
    return undefined;
  }

  failure(): undefined {
    return undefined;
  }
}
