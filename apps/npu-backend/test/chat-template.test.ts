import { LLAMA3_CHAT_TEMPLATE } from "@gearbox/gguf/model-maker/llama3-template";
import { type GgufMetadata, gv } from "@gearbox/gguf/values";
import { describe, expect, it } from "vitest";
import { ChatTemplate, ChatTemplateError, formatTemplateDate } from "../src/chat/chat-template.js";

const DATE = new Date(2025, 2, 5); // 05 Mar 2025, local time like strftime
const llama3 = new ChatTemplate(LLAMA3_CHAT_TEMPLATE, "<|begin_of_text|>", "<|eot_id|>");

const SYSTEM_HEADER = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n";
const DATES = "Cutting Knowledge Date: December 2023\nToday Date: 05 Mar 2025\n\n";
const ASSISTANT = "<|start_header_id|>assistant<|end_header_id|>\n\n";

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

describe("Llama 3.2 chat template", () => {
  it("renders a single user message with the dated system header and the generation prompt", () => {
    expect(llama3.render([{ role: "user", content: "Hello!" }], { date: DATE })).toBe(
      `${SYSTEM_HEADER}${DATES}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>${ASSISTANT}`,
    );
  });

  it("moves the system message into the system header and trims every message", () => {
    const out = llama3.render(
      [
        { role: "system", content: "  You are terse.\n" },
        { role: "user", content: " Hi " },
        { role: "assistant", content: "Hello.\n\n" },
        { role: "user", content: "Bye" },
      ],
      { date: DATE, addGenerationPrompt: false },
    );
    expect(out).toBe(
      `${SYSTEM_HEADER}${DATES}You are terse.<|eot_id|>` +
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>",
    );
  });

  it("treats developer as system and joins text parts with newlines", () => {
    const out = llama3.render(
      [
        {
          role: "developer",
          content: [
            { type: "text", text: "Rule one." },
            { type: "text", text: "Rule two." },
          ],
        },
        { role: "user", content: [{ type: "text", text: "Question" }] },
      ],
      { date: DATE },
    );
    expect(out).toBe(
      `${SYSTEM_HEADER}${DATES}Rule one.\nRule two.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nQuestion<|eot_id|>${ASSISTANT}`,
    );
  });

  it("puts tools into the first user message and renders a tool call and its result", () => {
    const out = llama3.render(
      [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city": "Paris"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "22 C" },
      ],
      { date: DATE, tools: [weatherTool] },
    );
    const toolJson = [
      "{",
      '    "type": "function",',
      '    "function": {',
      '        "name": "get_weather",',
      '        "description": "Current weather",',
      '        "parameters": {',
      '            "type": "object",',
      '            "properties": {',
      '                "city": {',
      '                    "type": "string"',
      "                }",
      "            },",
      '            "required": [',
      '                "city"',
      "            ]",
      "        }",
      "    }",
      "}",
    ].join("\n");
    expect(out).toBe(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n" +
        `${DATES}<|eot_id|>` +
        "<|start_header_id|>user<|end_header_id|>\n\n" +
        "Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n" +
        'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.\n\n' +
        `${toolJson}\n\nWeather in Paris?<|eot_id|>` +
        `${ASSISTANT}{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>` +
        // A string result is itself JSON-encoded (strings are iterable in Jinja), as with transformers.
        '<|start_header_id|>ipython<|end_header_id|>\n\n"22 C"<|eot_id|>' +
        ASSISTANT,
    );
  });

  it("shows today's date by default", () => {
    expect(llama3.render([{ role: "user", content: "x" }])).toContain(
      `Today Date: ${formatTemplateDate(new Date())}\n`,
    );
    expect(formatTemplateDate(new Date(2024, 6, 26))).toBe("26 Jul 2024");
  });

  it("reports what it cannot render", () => {
    expect(() => llama3.render([])).toThrow("a conversation needs at least one message");
    expect(() => llama3.render([{ role: "user", content: [{ type: "image_url" }] }])).toThrow(
      "message 0 content part 0 has type 'image_url'; only text parts are supported",
    );
    const twoCalls = { name: "f", arguments: "{}" };
    expect(() =>
      llama3.render([
        { role: "user", content: "x" },
        { role: "assistant", tool_calls: [{ function: twoCalls }, { function: twoCalls }] },
      ]),
    ).toThrow("This model only supports single tool-calls at once!");
    expect(() => new ChatTemplate("{% if %}", "", "")).toThrow(ChatTemplateError);
  });
});

describe("ChatTemplate.fromGguf", () => {
  const tokens = Array.from({ length: 8 }, (_, i) => `<t${i}>`);
  const meta = (extra: [string, ReturnType<typeof gv.string>][]): GgufMetadata =>
    new Map([
      ["tokenizer.ggml.tokens", gv.strings(tokens)],
      ["tokenizer.ggml.bos_token_id", gv.u32(1)],
      ["tokenizer.ggml.eos_token_id", gv.u32(2)],
      ...extra,
    ]);

  it("uses the file's template with its BOS and EOS token texts", () => {
    const t = ChatTemplate.fromGguf(
      meta([
        ["tokenizer.chat_template", gv.string("{{ bos_token }}{{ messages[0].content }}{{ eos_token }}")],
      ]),
    );
    expect(t.render([{ role: "user", content: "hi" }])).toBe("<t1>hi<t2>");
  });

  it("falls back to the built-in Llama 3 template", () => {
    const t = ChatTemplate.fromGguf(meta([]));
    expect(t.source).toBe(LLAMA3_CHAT_TEMPLATE);
    expect(t.render([{ role: "user", content: "hi" }], { date: DATE })).toBe(
      `<t1><|start_header_id|>system<|end_header_id|>\n\n${DATES}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>${ASSISTANT}`,
    );
  });
});
