/**
 * Server-sent events as the OpenAI streaming API uses them: one JSON object per `data:` line, a
 * blank line after each event, `data: [DONE]` at the end, comments (`: ping`) as keep-alives.
 */

/** `data: <json>\n\n` — one event carrying one JSON object. */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** The OpenAI end-of-stream marker. */
export const sseDone = "data: [DONE]\n\n";

/** A comment line; clients ignore it, proxies see bytes flowing. Newlines would end it, so they are dropped. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, " ")}\n\n`;
}

/** What the parser yields: a dispatched event, or a comment line. */
export type SseMessage =
  | { kind: "event"; event: string | undefined; data: string; id: string | undefined }
  | { kind: "comment"; text: string };

/**
 * Incremental parser after the WHATWG event-stream rules: feed it bytes or text as they arrive,
 * get the complete messages so far. Bytes are decoded with a streaming UTF-8 decoder, so a
 * character split across chunks is not corrupted, and a CR at a chunk's end is held until the
 * next chunk shows whether an LF follows.
 */
export class SseParser {
  private readonly decoder = new TextDecoder("utf-8");
  private buffer = "";
  private data: string[] = [];
  private event: string | undefined;
  private id: string | undefined;
  private sawField = false;

  /** Adds a chunk; returns the messages it completed. */
  push(chunk: Uint8Array | string): SseMessage[] {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.drain(false);
  }

  /** Ends the input. An event without its closing blank line is dropped, as the spec says. */
  end(): SseMessage[] {
    this.buffer += this.decoder.decode();
    const messages = this.drain(true);
    this.buffer = "";
    this.resetEvent();
    return messages;
  }

  /** True while an event has started but not been dispatched (a partial line or pending fields). */
  get midEvent(): boolean {
    return this.buffer.length > 0 || this.sawField;
  }

  private drain(final: boolean): SseMessage[] {
    const messages: SseMessage[] = [];
    let start = 0;
    for (;;) {
      const lf = this.buffer.indexOf("\n", start);
      const cr = this.buffer.indexOf("\r", start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A lone CR at the very end may be the first half of CRLF: wait for more input.
        if (cr === this.buffer.length - 1 && !final) break;
        end = cr;
        next = this.buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      const message = this.line(this.buffer.slice(start, end));
      if (message) messages.push(message);
      start = next;
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  private line(line: string): SseMessage | undefined {
    if (line === "") {
      // Per the spec an event without any data field is not dispatched.
      const message: SseMessage | undefined =
        this.data.length > 0
          ? { kind: "event", event: this.event, data: this.data.join("\n"), id: this.id }
          : undefined;
      this.resetEvent();
      return message;
    }
    if (line.startsWith(":")) return { kind: "comment", text: line.slice(1).replace(/^ /, "") };
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    this.sawField = true;
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id") this.id = value;
    return undefined;
  }

  private resetEvent(): void {
    this.data = [];
    this.event = undefined;
    this.sawField = false;
  }
}

/**
 * Streams for the edge report their running usage in comments (`: usage <prompt> <completion>`)
 * before each event when the request carries this header, so that a stream the client cancels can
 * be charged what it generated. SSE clients ignore comments.
 */
export const USAGE_PROGRESS_HEADER = "x-gearbox-usage-progress";

export interface UsageProgress {
  promptTokens: number;
  completionTokens: number;
}

export function usageProgressComment(progress: UsageProgress): string {
  return sseComment(`usage ${progress.promptTokens} ${progress.completionTokens}`);
}

/** The progress in a comment's text, or undefined for any other comment. */
export function parseUsageProgress(comment: string): UsageProgress | undefined {
  const match = /^usage (\d{1,12}) (\d{1,12})$/.exec(comment);
  return match ? { promptTokens: Number(match[1]), completionTokens: Number(match[2]) } : undefined;
}
