import { describe, expect, it } from "vitest";
import { type SseMessage, SseParser, sseComment, sseData, sseDone } from "../src/index.js";

describe("SSE encoding", () => {
  it("writes exact bytes", () => {
    expect(sseData({ a: 1, b: "é\n" })).toBe('data: {"a":1,"b":"é\\n"}\n\n');
    expect(sseDone).toBe("data: [DONE]\n\n");
    expect(sseComment("ping")).toBe(": ping\n\n");
    // A newline inside a comment would end it and turn the rest into a field.
    expect(sseComment("a\nb")).toBe(": a b\n\n");
  });
});

describe("SseParser", () => {
  const stream = `${sseComment("ping")}${sseData({ n: 1 })}event: error\ndata: x\ndata: y\nid: 7\n\n${sseDone}`;
  const expected: SseMessage[] = [
    { kind: "comment", text: "ping" },
    { kind: "event", event: undefined, data: '{"n":1}', id: undefined },
    { kind: "event", event: "error", data: "x\ny", id: "7" },
    { kind: "event", event: undefined, data: "[DONE]", id: "7" },
  ];

  it("parses a whole stream", () => {
    const parser = new SseParser();
    expect([...parser.push(stream), ...parser.end()]).toEqual(expected);
  });

  it("gives the same messages whatever the chunking, byte by byte included", () => {
    const bytes = new TextEncoder().encode(stream);
    for (const size of [1, 2, 3, 7, 64]) {
      const parser = new SseParser();
      const messages: SseMessage[] = [];
      for (let i = 0; i < bytes.length; i += size) messages.push(...parser.push(bytes.subarray(i, i + size)));
      messages.push(...parser.end());
      expect(messages).toEqual(expected);
    }
  });

  it("does not corrupt a UTF-8 character split across chunks", () => {
    const bytes = new TextEncoder().encode(sseData({ t: "你好🙂" }));
    const parser = new SseParser();
    const messages = [
      ...parser.push(bytes.subarray(0, 13)),
      ...parser.push(bytes.subarray(13)),
      ...parser.end(),
    ];
    expect(messages).toEqual([{ kind: "event", event: undefined, data: '{"t":"你好🙂"}', id: undefined }]);
  });

  it("accepts CRLF and CR line ends, even a CRLF split across chunks", () => {
    const parser = new SseParser();
    const messages = [...parser.push("data: a\r"), ...parser.push("\n\r\ndata: b\r\r"), ...parser.end()];
    expect(messages.map((m) => (m.kind === "event" ? m.data : m.text))).toEqual(["a", "b"]);
  });

  it("reports whether an event is half received", () => {
    const parser = new SseParser();
    expect(parser.midEvent).toBe(false);
    parser.push('data: {"a"');
    expect(parser.midEvent).toBe(true);
    parser.push(":1}\n");
    expect(parser.midEvent).toBe(true);
    expect(parser.push("\n")).toHaveLength(1);
    expect(parser.midEvent).toBe(false);
  });

  it("drops an event cut off before its blank line", () => {
    const parser = new SseParser();
    expect([...parser.push("data: complete\n\ndata: cut"), ...parser.end()]).toEqual([
      { kind: "event", event: undefined, data: "complete", id: undefined },
    ]);
  });
});
