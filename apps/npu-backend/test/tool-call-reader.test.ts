/**
 * Reading Llama 3 tool calls out of streamed text: whatever the chunking, the calls and content
 * are the same, argument fragments add up to the arguments, and text that is not a call of a known
 * tool stays content.
 */
import { describe, expect, it } from "vitest";
import { type ToolCallEvent, ToolCallReader } from "../src/server/openai/tool-call-reader.js";
import { loadTokenizer } from "../src/tokenizer/tokenizer.js";
import { ensureModel } from "./support/models.js";

const calling = { mode: "auto" as const, names: new Set(["get_weather", "get_time"]) };

function read(text: string, chunk: number) {
  let n = 0;
  const reader = new ToolCallReader(calling, () => `call_${n++}`);
  const events: ToolCallEvent[] = [];
  for (let i = 0; i < text.length; i += chunk) events.push(...reader.push(text.slice(i, i + chunk)));
  events.push(...reader.finish());
  const content = events.flatMap((e) => (e.kind === "content" ? [e.text] : [])).join("");
  const streamed: Record<number, string> = {};
  for (const e of events) if (e.kind === "arguments") streamed[e.index] = (streamed[e.index] ?? "") + e.text;
  return { calls: reader.calls, content, events, streamed };
}

describe("ToolCallReader", () => {
  const two =
    '{"name": "get_weather", "parameters": {"city": "Pa}ri\\"s", "days": [1, {"x": 2}]}}; {"name": "get_time", "parameters": {"zone": "UTC"}}';

  for (const chunk of [1, 2, 3, 7, 1000]) {
    it(`reads two calls in chunks of ${chunk}`, () => {
      const { calls, content, events, streamed } = read(two, chunk);
      expect(content).toBe("");
      expect(calls).toEqual([
        {
          id: "call_0",
          type: "function",
          function: { name: "get_weather", arguments: '{"city": "Pa}ri\\"s", "days": [1, {"x": 2}]}' },
        },
        { id: "call_1", type: "function", function: { name: "get_time", arguments: '{"zone": "UTC"}' } },
      ]);
      expect(streamed).toEqual({ 0: calls[0]?.function.arguments, 1: calls[1]?.function.arguments });
      // Each call is announced once, before its arguments.
      const starts = events.filter((e) => e.kind === "call");
      expect(starts.map((e) => e.kind === "call" && e.name)).toEqual(["get_weather", "get_time"]);
    });
  }

  it("plain text is content, streamed as it comes", () => {
    const { calls, content } = read('  Hello, there {"name": "get_time"}', 4);
    expect(calls).toEqual([]);
    expect(content).toBe('  Hello, there {"name": "get_time"}');
  });

  it("text that starts like a call but is not one is given back as content", () => {
    for (const text of ['{"name": "unknown", "parameters": {}}', '{"nam', '{"name": "get_time" oops', "{}"]) {
      const { calls, content } = read(text, 3);
      expect(calls).toEqual([]);
      expect(content).toBe(text);
    }
  });

  it("a call cut short keeps its partial arguments; leading whitespace before a call is dropped", () => {
    const { calls, content } = read('\n {"name": "get_time", "parameters": {"zone": "U', 5);
    expect(content).toBe("");
    expect(calls[0]?.function.arguments).toBe('{"zone": "U');
  });

  it("reads a call written after <|python_tag|> (a control token: it decodes to nothing)", async () => {
    const tokenizer = loadTokenizer(await ensureModel("tiny", "q8_0"));
    const tag = tokenizer.specialTokenId("<|python_tag|>") as number;
    const call = '{"name": "get_time", "parameters": {"zone": "CET"}}';
    const decoder = tokenizer.streamDecoder();
    const text = [tag, ...tokenizer.encode(call, { addBos: false })].map((t) => decoder.push(t)).join("");
    expect(read(text, 2).calls).toEqual([
      { id: "call_0", type: "function", function: { name: "get_time", arguments: '{"zone": "CET"}' } },
    ]);
  });
});
