/** Language detection and model routing (names, aliases, "auto", unknown models). */
import { ApiError } from "@gearbox/shared";
import { describe, expect, it } from "vitest";
import { cjkShare, detectLanguage } from "../src/models/language.js";
import { ModelRouter } from "../src/models/model-router.js";

describe("detectLanguage", () => {
  it("takes mostly-CJK text for Chinese and counts a Latin word as one unit", () => {
    expect(detectLanguage("你好，请介绍一下你自己。")).toBe("zh");
    expect(detectLanguage("帮我解释一下 React hooks 的用法")).toBe("zh");
    expect(detectLanguage("Hello, who are you?")).toBe("en");
    expect(detectLanguage("Translate into English: 我爱你")).toBe("en");
    expect(detectLanguage("")).toBe("en");
    expect(detectLanguage("12345 !!!")).toBe("en");
  });

  it("measures the share in units", () => {
    expect(cjkShare("abc中文")).toBeCloseTo(2 / 3);
    expect(cjkShare("日本語のテキスト")).toBe(1);
  });
});

describe("ModelRouter", () => {
  const en = { id: "llama-en", aliases: ["gpt-4o-mini"], languages: ["en"] };
  const zh = { id: "llama-zh", aliases: [], languages: ["zh"] };
  const router = new ModelRouter([en, zh], { auto: true, defaultModel: "llama-en" });
  const never = () => {
    throw new Error("the conversation is read only for auto");
  };

  it("routes ids and aliases without reading the conversation", () => {
    expect(router.route("llama-zh", never)).toBe(zh);
    expect(router.route("gpt-4o-mini", never)).toBe(en);
  });

  it("routes auto only among the allowed models (a key's allow-list), by id or alias", () => {
    expect(router.route("auto", () => "Hello there", ["llama-zh"])).toBe(zh);
    expect(router.route("auto", () => "你好", ["gpt-4o-mini"])).toBe(en);
    expect(router.route("auto", () => "Hello there", ["llama-en", "llama-zh"])).toBe(en);
    const none = (() => {
      try {
        return router.route("auto", () => "Hello", ["other-model"]);
      } catch (error) {
        return error;
      }
    })();
    expect(none).toBeInstanceOf(ApiError);
    expect(none).toMatchObject({ status: 404, code: "model_not_found" });
  });

  it("routes auto by language", () => {
    expect(router.route("auto", () => "今天天气怎么样？")).toBe(zh);
    expect(router.route("auto", () => "What is the weather like?")).toBe(en);
  });

  it("falls back to the default model when no model lists the language", () => {
    const only = new ModelRouter([{ id: "x", aliases: [], languages: [] }], {
      auto: true,
      defaultModel: "x",
    });
    expect(only.route("auto", () => "你好").id).toBe("x");
  });

  it("refuses unknown names, and auto when the router is off, with 404 model_not_found", () => {
    const off = new ModelRouter([en], { auto: false, defaultModel: "llama-en" });
    for (const [r, name] of [
      [router, "gpt-5"],
      [off, "auto"],
    ] as const) {
      const error = (() => {
        try {
          r.route(name, () => "hi");
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 404, code: "model_not_found", param: "model" });
    }
    expect(off.names).toEqual(["llama-en", "gpt-4o-mini"]);
    expect(router.names).toEqual(["llama-en", "gpt-4o-mini", "llama-zh", "auto"]);
  });
});
