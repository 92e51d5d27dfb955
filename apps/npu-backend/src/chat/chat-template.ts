/**
 * Renders a conversation into a prompt with the model's Jinja chat template (tokenizer.chat_template,
 * or the built-in Llama 3.2 template when a file has none), the way transformers'
 * apply_chat_template does: trim_blocks/lstrip_blocks Jinja (@huggingface/jinja), `bos_token`,
 * `add_generation_prompt`, `tools`, `strftime_now`. OpenAI-style messages are first brought into
 * the shape such templates expect (see toTemplateMessage).
 */

import { metaInteger, metaString, requireStringArray } from "@gearbox/gguf/metadata";
import { LLAMA3_CHAT_TEMPLATE } from "@gearbox/gguf/model-maker/llama3-template";
import type { GgufMetadata } from "@gearbox/gguf/values";
import { Template } from "@huggingface/jinja";

export type ChatRole = "system" | "developer" | "user" | "assistant" | "tool" | "ipython";

export interface ChatContentPart {
  type: string;
  text?: string;
}

export interface ChatToolCall {
  id?: string;
  type?: "function";
  /** `arguments` is a JSON string in the OpenAI API; an object is accepted as well. */
  function: { name: string; arguments: string | Record<string, unknown> };
}

export interface ChatMessage {
  role: ChatRole;
  content?: string | readonly ChatContentPart[] | null;
  tool_calls?: readonly ChatToolCall[];
  tool_call_id?: string;
  name?: string;
}

export interface ChatRenderOptions {
  /** End with the assistant header so the model writes the reply (default true). */
  addGenerationPrompt?: boolean;
  /** Tool definitions, passed to the template as given (OpenAI `tools`). */
  tools?: readonly unknown[];
  /** The date the template's "Today Date" shows (default: now). */
  date?: Date;
}

export class ChatTemplateError extends Error {
  constructor(message: string) {
    super(`chat template: ${message}`);
    this.name = "ChatTemplateError";
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** strftime("%d %b %Y") in local time, as transformers' templates get it. */
export function formatTemplateDate(date: Date): string {
  return `${String(date.getDate()).padStart(2, "0")} ${MONTHS[date.getMonth()]} ${date.getFullYear()}`;
}

function contentText(content: ChatMessage["content"], index: number): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  // Several text parts are joined by newlines, as vLLM and llama.cpp's server do.
  return content
    .map((part, p) => {
      if (part.type !== "text" || typeof part.text !== "string") {
        throw new ChatTemplateError(
          `message ${index} content part ${p} has type '${part.type}'; only text parts are supported`,
        );
      }
      return part.text;
    })
    .join("\n");
}

function parseArguments(args: string | Record<string, unknown>): unknown {
  if (typeof args !== "string") return args;
  try {
    return JSON.parse(args);
  } catch {
    // Not JSON: the template gets the raw string (and renders it as a JSON string).
    return args;
  }
}

/**
 * The message as chat templates expect it: developer becomes system, content is a string, tool call
 * arguments are objects (templates `tojson` them), `tool_calls` is present only when non-empty
 * (templates test `'tool_calls' in message`).
 */
function toTemplateMessage(m: ChatMessage, index: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    role: m.role === "developer" ? "system" : m.role,
    content: contentText(m.content, index),
  };
  if (m.tool_calls && m.tool_calls.length > 0) {
    out.tool_calls = m.tool_calls.map((call) => ({
      ...(call.id === undefined ? {} : { id: call.id }),
      type: call.type ?? "function",
      function: { name: call.function.name, arguments: parseArguments(call.function.arguments) },
    }));
  }
  if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
  if (m.name !== undefined) out.name = m.name;
  return out;
}

export class ChatTemplate {
  private readonly template: Template;

  /**
   * @param source the Jinja template
   * @param bosToken the text of the BOS token (templates print it; tokenize the prompt with special
   *   tokens parsed and without adding another BOS)
   */
  constructor(
    readonly source: string,
    readonly bosToken: string,
    readonly eosToken: string,
  ) {
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new ChatTemplateError(
        `cannot parse the template: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** The file's template (or the built-in Llama 3 one), with its BOS and EOS token texts. */
  static fromGguf(metadata: GgufMetadata): ChatTemplate {
    const tokens = requireStringArray(metadata, "tokenizer.ggml.tokens");
    const tokenText = (key: string): string => {
      const id = metaInteger(metadata, key);
      return id === undefined ? "" : (tokens[id] ?? "");
    };
    return new ChatTemplate(
      metaString(metadata, "tokenizer.chat_template") ?? LLAMA3_CHAT_TEMPLATE,
      tokenText("tokenizer.ggml.bos_token_id"),
      tokenText("tokenizer.ggml.eos_token_id"),
    );
  }

  render(messages: readonly ChatMessage[], options: ChatRenderOptions = {}): string {
    if (messages.length === 0) throw new ChatTemplateError("a conversation needs at least one message");
    const context: Record<string, unknown> = {
      messages: messages.map(toTemplateMessage),
      bos_token: this.bosToken,
      eos_token: this.eosToken,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      date_string: formatTemplateDate(options.date ?? new Date()),
    };
    if (options.tools && options.tools.length > 0) context.tools = options.tools;
    try {
      return this.template.render(context);
    } catch (err) {
      throw new ChatTemplateError(err instanceof Error ? err.message : String(err));
    }
  }
}
