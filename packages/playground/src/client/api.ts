/**
 * The page's calls to the OpenAI API of an edge or a backend: the model list and a streamed chat
 * completion, with every failure turned into one message the page can show as it is.
 */
import { SseParser } from "@gearbox/shared/sse";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A failure the page shows: the API's own error message and code, or why it could not be reached. */
export class PlaygroundError extends Error {
  constructor(
    message: string,
    readonly code: string | null = null,
    readonly status: number | null = null,
  ) {
    super(message);
  }

  /** One line: the message, then the status and code when there are any. */
  display(): string {
    const where = [this.status ?? "", this.code ?? ""].filter((part) => part !== "").join(" ");
    return where ? `${this.message} (${where})` : this.message;
  }
}

/** What the stream tells the page while it runs. */
export interface StreamHandlers {
  /** The answer's headers arrived: the model that serves it (what `auto` chose). */
  onOpen(model: string | null): void;
  /** More answer text. */
  onText(text: string): void;
  onUsage(completionTokens: number): void;
  onFinish(reason: string): void;
}

export class ApiClient {
  constructor(
    private readonly base: string,
    private readonly key: string,
  ) {}

  async listModels(signal?: AbortSignal): Promise<string[]> {
    const response = await this.call("/v1/models", { method: "GET", signal: signal ?? null });
    const body = (await response.json()) as { data?: { id?: unknown }[] };
    return (body.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === "string");
  }

  /** Streams one chat completion; resolves when the stream ends, rejects on an error (an abort too). */
  async streamChat(request: Record<string, unknown>, signal: AbortSignal, on: StreamHandlers): Promise<void> {
    const response = await this.call("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }),
      signal,
    });
    on.onOpen(response.headers.get("x-gearbox-model"));
    if (!response.body) throw new PlaygroundError("The answer had no body.");
    const parser = new SseParser();
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      const messages = done ? parser.end() : parser.push(value);
      for (const message of messages) {
        if (message.kind !== "event" || message.data === "[DONE]") continue;
        handleChunk(JSON.parse(message.data), on);
      }
      if (done) return;
    }
  }

  private async call(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.key) headers.set("authorization", `Bearer ${this.key}`);
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, { ...init, headers });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new PlaygroundError(
        `Could not reach ${this.base} (${error instanceof Error ? error.message : String(error)}): ` +
          "is it running, and does its CORS allow this page's origin?",
      );
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }
}

interface ChunkShape {
  error?: { message?: string; code?: string | null };
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { completion_tokens?: number } | null;
}

function handleChunk(chunk: ChunkShape, on: StreamHandlers): void {
  // A failure after the headers went out arrives as an event carrying an OpenAI error.
  if (chunk.error)
    throw new PlaygroundError(chunk.error.message ?? "The stream failed.", chunk.error.code ?? null);
  const choice = chunk.choices?.[0];
  const text = choice?.delta?.content;
  if (text) on.onText(text);
  if (choice?.finish_reason) on.onFinish(choice.finish_reason);
  if (typeof chunk.usage?.completion_tokens === "number") on.onUsage(chunk.usage.completion_tokens);
}

/** The OpenAI error in a failed answer, or a message naming the status when it has none. */
async function errorOf(response: Response): Promise<PlaygroundError> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as ChunkShape;
    if (body.error?.message)
      return new PlaygroundError(body.error.message, body.error.code ?? null, response.status);
  } catch {
    // not JSON: fall through
  }
  return new PlaygroundError(`HTTP ${response.status} ${response.statusText}`.trim(), null, response.status);
}
