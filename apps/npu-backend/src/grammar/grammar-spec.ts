/**
 * What a request constrains its output to, in a form that is compiled once and cached: JSON
 * (`response_format: json_object`), a JSON schema (`json_schema`), or calls of the request's tools
 * in Llama 3's JSON form `{"name": "...", "parameters": {...}}`.
 */
import { createHash } from "node:crypto";

export interface ToolSpec {
  name: string;
  /** The function's parameters (a JSON schema object). */
  parameters: Record<string, unknown>;
  strict: boolean;
}

export type GrammarSpec =
  | { kind: "json_object" }
  | { kind: "json_schema"; schema: Record<string, unknown>; strict: boolean }
  | {
      kind: "tool_calls";
      tools: readonly ToolSpec[];
      /** auto: free text until the model starts a call; required: a call from the first token. */
      mode: "auto" | "required";
      /** More than one call, separated by "; ". */
      parallel: boolean;
    };

/** The text that starts every tool call (and, in auto mode, switches the grammar on). */
export const TOOL_CALL_TRIGGER = '{"name": ';
/** Between calls of one message. */
export const TOOL_CALL_SEPARATOR = "; ";

export function toolCallBegin(name: string): string {
  return `${TOOL_CALL_TRIGGER}${JSON.stringify(name)}, "parameters": `;
}

/** Cache key: a hash of the spec's canonical JSON (object keys sorted). */
export function grammarKey(spec: GrammarSpec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
