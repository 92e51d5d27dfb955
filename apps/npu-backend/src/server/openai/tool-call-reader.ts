/**
 * Reads Llama 3 tool calls out of a choice's text as it streams: `{"name": "f", "parameters": {…}}`,
 * several separated by `;` (the `<|python_tag|>` that may precede them is a control token, already
 * gone from the text). Text that does not start a call is content. The same reader serves the
 * streamed and the one-body answer, so a stream's argument fragments add up to the body's
 * `arguments` exactly. Calls are recognised at the start of the message (after whitespace) and
 * right after another call, which is where the grammar lets them begin.
 */
import { randomBytes } from "node:crypto";
import type { ToolCall } from "@gearbox/shared";
import type { ToolCalling } from "./structured-output.js";

export type ToolCallEvent =
  | { kind: "content"; text: string }
  | { kind: "call"; index: number; id: string; name: string }
  | { kind: "arguments"; index: number; text: string };

const START = '{"name": "';
const AFTER_NAME = '", "parameters": ';
const BETWEEN = /^\s*;?\s*/;

type State = "lead" | "text" | "name" | "after-name" | "arguments" | "close" | "between";

export function newToolCallId(): string {
  return `call_${randomBytes(12).toString("hex")}`;
}

export class ToolCallReader {
  private state: State = "lead";
  private held = "";
  /** Raw text of a call not yet announced (given back as content if it turns out not to be one). */
  private raw = "";
  private name = "";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private readonly found: ToolCall[] = [];

  constructor(
    private readonly calling: ToolCalling,
    private readonly newId: () => string = newToolCallId,
  ) {}

  /** The calls read so far (a call cut short by max_tokens keeps its partial arguments). */
  get calls(): readonly ToolCall[] {
    return this.found;
  }

  push(text: string): ToolCallEvent[] {
    const out: ToolCallEvent[] = [];
    let rest = text;
    while (rest.length > 0) rest = this.step(rest, out);
    return out;
  }

  /** The end of the choice: what was held back and is not a call is content. */
  finish(): ToolCallEvent[] {
    const out: ToolCallEvent[] = [];
    if (this.state === "lead" || this.state === "name" || this.state === "after-name") {
      this.content(this.state === "lead" ? this.held : this.raw, out);
    } else if (this.state === "between" && this.held.trim() !== "") {
      this.content(this.held, out);
    }
    this.held = "";
    this.raw = "";
    this.state = "text";
    return out;
  }

  private content(text: string, out: ToolCallEvent[]): void {
    if (text === "") return;
    const last = out[out.length - 1];
    if (last?.kind === "content") last.text += text;
    else out.push({ kind: "content", text });
  }

  /** Consumes some of `text`, returns the rest. */
  private step(text: string, out: ToolCallEvent[]): string {
    switch (this.state) {
      case "text":
        this.content(text, out);
        return "";
      case "lead":
      case "between": {
        this.held += text;
        const lead =
          this.state === "lead"
            ? (this.held.match(/^\s*/) as RegExpMatchArray)[0]
            : (this.held.match(BETWEEN) as RegExpMatchArray)[0];
        const body = this.held.slice(lead.length);
        if (body.length === 0 && this.held.length < 64) return "";
        if (body.startsWith(START)) {
          this.state = "name";
          this.raw = this.held.slice(0, lead.length + START.length);
          this.held = "";
          this.name = "";
          return body.slice(START.length);
        }
        if (START.startsWith(body)) return ""; // could still become a call
        const held = this.held;
        this.held = "";
        this.state = "text";
        this.content(held, out);
        return "";
      }
      case "name": {
        const quote = text.indexOf('"');
        if (quote < 0) {
          this.name += text;
          this.raw += text;
          return "";
        }
        this.name += text.slice(0, quote);
        this.raw += text.slice(0, quote);
        this.state = "after-name";
        this.held = "";
        return text.slice(quote);
      }
      case "after-name": {
        this.held += text;
        if (this.held.startsWith(AFTER_NAME) && this.calling.names.has(this.name)) {
          const rest = this.held.slice(AFTER_NAME.length);
          const index = this.found.length;
          const id = this.newId();
          this.found.push({ id, type: "function", function: { name: this.name, arguments: "" } });
          out.push({ kind: "call", index, id, name: this.name });
          this.state = "arguments";
          this.depth = 0;
          this.inString = false;
          this.escaped = false;
          this.held = "";
          this.raw = "";
          return rest;
        }
        if (AFTER_NAME.startsWith(this.held)) return "";
        // Not a call after all: everything since the start is content.
        const raw = this.raw + this.held;
        this.held = "";
        this.raw = "";
        this.state = "text";
        this.content(raw, out);
        return "";
      }
      case "arguments": {
        let end = -1;
        for (let i = 0; i < text.length; i++) {
          const c = text[i];
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (c === "\\") this.escaped = true;
            else if (c === '"') this.inString = false;
          } else if (c === '"') this.inString = true;
          else if (c === "{" || c === "[") this.depth++;
          else if (c === "}" || c === "]") {
            this.depth--;
            if (this.depth <= 0) {
              end = i + 1;
              break;
            }
          }
        }
        const piece = end < 0 ? text : text.slice(0, end);
        const call = this.found[this.found.length - 1] as ToolCall;
        call.function.arguments += piece;
        if (piece !== "") out.push({ kind: "arguments", index: this.found.length - 1, text: piece });
        if (end < 0) return "";
        this.state = "close";
        return text.slice(end);
      }
      case "close": {
        // The "}" that closes the call object; anything else would be a grammar-free model's slip.
        const trimmed = text.trimStart();
        if (trimmed.length === 0) return "";
        this.state = "between";
        this.held = "";
        return trimmed.startsWith("}") ? trimmed.slice(1) : trimmed;
      }
    }
  }
}
