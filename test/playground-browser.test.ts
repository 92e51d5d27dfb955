/**
 * The playground page in a real headless Chromium (playwright-core driving the system's browser),
 * against the real edge in workerd in front of a real `gearbox serve --open` process running the
 * engine on two tiny synthetic models (en and zh, so that `auto` routes), and against that backend
 * alone. What only a browser can show: the stream rendered as it arrives, UTF-8 decoded across
 * chunks, fetch aborts reaching the engine, CORS (preflight, exposed headers), errors as text.
 *
 * Without a browser at /usr/bin/chromium (or $GEARBOX_CHROMIUM) every test here is skipped, and
 * says so. With PLAYGROUND_SCREENSHOT=path the page is also saved as a PNG (docs/playground.png).
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, type Edge, startEdge, TEST_SECRET } from "../apps/edge/test/edge-harness.js";
import { metricValue } from "../apps/npu-backend/test/server-harness.js";
import { ensureModel } from "../apps/npu-backend/test/support/models.js";
import { type BackendProcess, startBackendProcess } from "./support/backend-process.js";
import { type Browser, CHROMIUM_PATH, chromiumAvailable, launchBrowser } from "./support/browser.js";
import { type SplittingProxy, startSplittingProxy } from "./support/splitting-proxy.js";

if (!chromiumAvailable) {
  console.warn(
    `playground browser tests SKIPPED: no browser at ${CHROMIUM_PATH} ` +
      "(install Debian's chromium, as .ci/run does, or set GEARBOX_CHROMIUM)",
  );
}

const CONTEXT_LENGTH = 2048;

let backend: BackendProcess;
let edge: Edge;
let key: string;
let browser: Browser;
/** In front of the edge: answers cut inside UTF-8 characters. */
let splitter: SplittingProxy;
/** Uncaught errors in any page, and console errors about the Content-Security-Policy: none allowed. */
const pageProblems: string[] = [];

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${backend.url}/metrics`)).text();
  return metricValue(text, name, labels) ?? 0;
}

/** A fresh tab (its own sessionStorage) on the playground at `url`, with `apiKey` typed in. */
async function openPlayground(url: string, apiKey = ""): Promise<Page> {
  const page = await browser.context.newPage();
  page.on("pageerror", (error) => pageProblems.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && /Content.Security.Policy/i.test(message.text()))
      pageProblems.push(message.text());
  });
  await page.goto(url);
  if (apiKey) {
    await page.fill("#api-key", apiKey);
    await page.locator("#api-key").blur();
  }
  return page;
}

async function waitForModels(page: Page): Promise<string[]> {
  await page.waitForSelector("#model[data-loaded=true]");
  return page.$$eval("#model option", (options) => options.map((o) => o.getAttribute("value") ?? ""));
}

/**
 * Records every text the newest answer shows, from now to the end of the stream, in
 * `window.updates`. (A script string: the tests are compiled without the DOM's types.)
 */
const RECORD_ANSWER_UPDATES = `(() => {
  window.updates = [];
  const messages = document.getElementById("messages");
  new MutationObserver(() => {
    const answers = messages.querySelectorAll(".message.assistant .content");
    const text = answers[answers.length - 1]?.textContent ?? "";
    if (text !== "" && text !== window.updates[window.updates.length - 1]) window.updates.push(text);
  }).observe(messages, { childList: true, subtree: true, characterData: true });
})()`;

async function recordAnswerUpdates(page: Page): Promise<void> {
  await page.evaluate(RECORD_ANSWER_UPDATES);
}

async function answerUpdates(page: Page): Promise<string[]> {
  return (await page.evaluate("window.updates")) as string[];
}

/** Types `text`, sends it, and waits for the answer to end (finished, stopped or failed). */
async function ask(page: Page, text: string, settings: { model?: string; maxTokens?: number } = {}) {
  if (settings.model) await page.selectOption("#model", settings.model);
  await page.fill("#temperature", "0");
  await page.fill("#max-tokens", String(settings.maxTokens ?? 24));
  await page.fill("#prompt", text);
  await page.press("#prompt", "Enter");
  const answer = page.locator(".message.assistant").last();
  await answer.locator("xpath=self::*[@data-finish]").waitFor();
  return {
    text: (await answer.locator(".content").textContent()) ?? "",
    label: (await answer.locator(".role").textContent()) ?? "",
    finish: await answer.getAttribute("data-finish"),
  };
}

/** The same conversation asked directly (not streamed), for the text the page must show. */
async function reference(base: string, model: string, content: string, maxTokens = 24) {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: authHeaders(key),
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content }],
      temperature: 0,
      max_tokens: maxTokens,
    }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { model: string; choices: { message: { content: string } }[] };
  return { model: body.model, text: body.choices[0]?.message.content ?? "" };
}

describe.skipIf(!chromiumAvailable)("playground in headless chromium", () => {
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "gearbox-playground-"));
    const configPath = join(dir, "gearbox.config.json");
    await writeFile(
      configPath,
      JSON.stringify({
        models: [
          { id: "tiny-en", path: await ensureModel("tiny", "q8_0"), languages: ["en"] },
          { id: "tiny-zh", path: await ensureModel("tiny-alt", "q8_0"), languages: ["zh"] },
        ],
        engine: { threads: 1, contextLength: CONTEXT_LENGTH, kvCacheMiB: 16 },
        gears: { prefill: [16, 64], decodeBatch: [1, 4], cacheDir: "" },
        // One process serves both: the edge (signed requests) and the page on its own (--open).
        auth: { upstreamSecret: "env:GEARBOX_UPSTREAM_SECRET" },
        log: { level: "warn" },
      }),
    );
    const started = await Promise.all([
      startBackendProcess(["--config", configPath, "--open"], { GEARBOX_UPSTREAM_SECRET: TEST_SECRET }),
      launchBrowser(),
    ]);
    [backend, browser] = started;
    // The backend's page may call the edge: CORS there must let its origin in.
    edge = await startEdge([backend.url], { CORS_ORIGINS: backend.url });
    key = await edge.addKey({ name: "playground" });
    splitter = await startSplittingProxy(edge.url);
  });

  afterEach(() => {
    expect(pageProblems.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await splitter?.close();
    await edge?.dispose();
    await backend?.stop();
  });

  it("is served by the edge at /playground (and / leads there) with a CSP that allows only its own code", async () => {
    const root = await fetch(`${edge.url}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/playground");
    const [fromEdge, fromBackend] = await Promise.all([
      fetch(`${edge.url}/playground`),
      fetch(`${backend.url}/playground`),
    ]);
    expect(fromEdge.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(fromEdge.headers.get("content-security-policy")).toContain("default-src 'none'");
    // One page: the edge and the backend serve the same bytes.
    expect(await fromEdge.text()).toBe(await fromBackend.text());

    const page = await openPlayground(`${edge.url}/`);
    expect(page.url()).toBe(`${edge.url}/playground`);
    await page.fill("#api-key", key);
    await page.locator("#api-key").blur();
    expect(await waitForModels(page)).toEqual(expect.arrayContaining(["auto", "tiny-en", "tiny-zh"]));
    // The key is kept for the tab only.
    expect(await page.evaluate('sessionStorage.getItem("gearbox-playground:key")')).toBe(key);
    expect(await page.evaluate("localStorage.length")).toBe(0);
    await page.close();
  });

  it("renders a streamed answer as it arrives, in more than one update, and reports its speed", async () => {
    const page = await openPlayground(`${edge.url}/playground`, key);
    await waitForModels(page);
    await recordAnswerUpdates(page);
    const content = "Hello from a browser";
    const answer = await ask(page, content, { model: "tiny-en", maxTokens: 32 });
    const expected = await reference(edge.url, "tiny-en", content, 32);
    expect(answer.text).toBe(expected.text);
    expect(answer.finish).toBe("length");
    const updates = await answerUpdates(page);
    expect(updates.length).toBeGreaterThan(1);
    // Each update extends the one before: text appended as it came, ending with the whole answer.
    for (let i = 1; i < updates.length; i++) expect(updates[i]?.startsWith(updates[i - 1] ?? "")).toBe(true);
    expect(updates[updates.length - 1]).toBe(expected.text);
    const stats = page.locator("#stats");
    expect(await stats.getAttribute("data-model")).toBe("tiny-en");
    expect(Number(await stats.getAttribute("data-ttft-ms"))).toBeGreaterThan(0);
    expect(Number(await stats.getAttribute("data-tokens-per-second"))).toBeGreaterThan(0);
    expect(await stats.textContent()).toContain("32 tokens");

    // The conversation stays in the page: the second turn is sent with the first.
    const sent = page.waitForRequest((r) => r.url().endsWith("/v1/chat/completions"));
    await ask(page, "And again");
    const body = JSON.parse((await sent).postData() ?? "{}") as {
      messages: { role: string; content: string }[];
    };
    expect(body.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(body.messages[1]?.content).toBe(expected.text);
    expect(await page.locator(".message").count()).toBe(4);
    await page.close();
  });

  it("routes Chinese with `auto`, shows the chosen model, and renders characters cut across chunks without U+FFFD", async () => {
    // Through the proxy that cuts every multi-byte character of the page and of the stream in two.
    const page = await openPlayground(`${splitter.url}/playground`, key);
    await waitForModels(page);
    const content = "你好！请用中文介绍一下你自己，谢谢。";
    const splitsBefore = splitter.splits;
    const answer = await ask(page, content, { model: "auto", maxTokens: 24 });
    const cutInAnswer = splitter.splits - splitsBefore;
    const expected = await reference(edge.url, "auto", content, 24);
    expect(expected.model).toBe("tiny-zh");
    // Only a browser that read x-gearbox-model can show what `auto` chose.
    expect(answer.label).toBe("assistant · tiny-zh");
    expect(await page.locator("#stats").getAttribute("data-model")).toBe("tiny-zh");
    expect(await page.locator("#stats").textContent()).toContain("model tiny-zh (auto)");
    expect(await page.locator(".message.user .content").textContent()).toBe(content);
    // Characters split across network chunks must come out whole: the same text as in one piece.
    expect(answer.text).toBe(expected.text);
    expect(expected.text).not.toContain("\uFFFD");
    expect(answer.text).not.toContain("\uFFFD");
    expect([...answer.text].some((char) => (char.codePointAt(0) ?? 0) > 0x7f)).toBe(true);
    expect(cutInAnswer).toBeGreaterThan(0);
    if (process.env.PLAYGROUND_SCREENSHOT) {
      await page.fill("#system", "You are a helpful assistant.");
      await page.locator("#system").blur();
      await page.screenshot({ path: process.env.PLAYGROUND_SCREENSHOT });
    }
    await page.close();
  });

  it("Stop ends the stream and the backend frees the request's KV blocks", async () => {
    const page = await openPlayground(`${edge.url}/playground`, key);
    await waitForModels(page);
    await page.selectOption("#model", "tiny-en");
    await page.fill("#max-tokens", String(CONTEXT_LENGTH - 64));
    await page.fill("#prompt", "Tell me a very long story");
    await page.click("#send");
    const answer = page.locator(".message.assistant").last();
    await expect
      .poll(async () => ((await answer.locator(".content").textContent()) ?? "").length)
      .toBeGreaterThan(0);
    expect(await metric("gearbox:num_requests_running", { model_name: "tiny-en" })).toBe(1);
    expect(await metric("gearbox:kv_cache_blocks_used", { model_name: "tiny-en" })).toBeGreaterThan(0);
    await page.click("#stop");
    await answer.locator("xpath=self::*[@data-finish]").waitFor();
    expect(await answer.getAttribute("data-finish")).toBe("stopped");
    expect(await answer.locator(".role").textContent()).toBe("assistant · tiny-en · stopped");
    await expect
      .poll(() => metric("gearbox:kv_cache_blocks_used", { model_name: "tiny-en" }), { timeout: 5_000 })
      .toBe(0);
    expect(await metric("gearbox:num_requests_running", { model_name: "tiny-en" })).toBe(0);
    expect(
      await metric("gearbox:request_failure_total", { model_name: "tiny-en", reason: "cancelled" }),
    ).toBeGreaterThanOrEqual(1);
    expect(await page.locator("#send").isEnabled()).toBe(true);
    expect(await page.locator("#error").isHidden()).toBe(true);
    await page.close();
  });

  it("shows the edge's error for a wrong key, and gives the unsent message back", async () => {
    const wrong = await fetch(`${edge.url}/v1/models`, { headers: authHeaders("gbx-wrong-key") });
    expect(wrong.status).toBe(401);
    const { error } = (await wrong.json()) as { error: { message: string; code: string } };
    const page = await openPlayground(`${edge.url}/playground`, "gbx-wrong-key");
    const alert = page.locator("#error");
    await expect.poll(() => alert.textContent()).toBe(`${error.message} (401 ${error.code})`);
    expect(await alert.isVisible()).toBe(true);
    expect(await page.locator("#model option").count()).toBe(0);
    // Sending anyway says what is missing, rather than sending a request without a model.
    await page.fill("#prompt", "hello?");
    await page.press("#prompt", "Enter");
    expect(await alert.textContent()).toContain("Pick a model first");
    expect(await page.locator(".message").count()).toBe(0);
    expect(await page.inputValue("#prompt")).toBe("hello?");
    await page.close();
  });

  it("sends JSON mode as response_format json_schema and shows the backend's answer or its error", async () => {
    const page = await openPlayground(`${edge.url}/playground`, key);
    await waitForModels(page);
    expect(await page.locator("#json-schema").isVisible()).toBe(false);
    await page.check("#json-mode");
    expect(await page.locator("#json-schema").isVisible()).toBe(true);
    await page.selectOption("#model", "tiny-en");
    await page.fill("#max-tokens", "16");
    await page.fill("#prompt", "Answer in JSON");
    const sent = page.waitForRequest((r) => r.url().endsWith("/v1/chat/completions"));
    await page.press("#prompt", "Enter");
    const body = (await sent).postData() ?? "{}";
    const format = JSON.parse(body).response_format;
    expect(format.type).toBe("json_schema");
    expect(format.json_schema.schema.required).toEqual(["answer"]);
    // The same request from Node decides what the page must show.
    const direct = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: authHeaders(key),
      body,
    });
    if (direct.ok) {
      await direct.arrayBuffer();
      await page.locator(".message.assistant[data-finish]").waitFor();
      expect(await page.locator("#error").isHidden()).toBe(true);
    } else {
      // A backend without json_schema support refuses it with a 400, shown as its message.
      const { error } = (await direct.json()) as { error: { message: string } };
      const alert = page.locator("#error");
      await alert.waitFor();
      expect(await alert.textContent()).toContain(error.message);
      expect(await alert.textContent()).toContain(String(direct.status));
      expect(await page.locator(".message").count()).toBe(0);
      expect(await page.inputValue("#prompt")).toBe("Answer in JSON");
    }
    await page.close();
  });

  it("works against the backend alone (serve --open), and from there across origins to the edge (CORS)", async () => {
    const page = await openPlayground(`${backend.url}/playground`);
    expect(await waitForModels(page)).toEqual(expect.arrayContaining(["auto", "tiny-en", "tiny-zh"]));
    await recordAnswerUpdates(page);
    const answer = await ask(page, "Hello, backend", { model: "tiny-en" });
    expect(answer.text).toBe((await reference(edge.url, "tiny-en", "Hello, backend")).text);
    expect(answer.label).toBe("assistant · tiny-en");
    expect((await answerUpdates(page)).length).toBeGreaterThan(1);

    // The same page, told to use the edge: a cross-origin request with a key (so a preflight),
    // and the chosen model read from an exposed header.
    await page.click("#clear");
    await page.fill("#api-base", edge.url);
    await page.fill("#api-key", key);
    await page.locator("#api-key").blur();
    await waitForModels(page);
    const content = "你好，边缘";
    const crossed = await ask(page, content, { model: "auto" });
    expect(crossed.label).toBe("assistant · tiny-zh");
    expect(crossed.text).toBe((await reference(edge.url, "auto", content)).text);
    await page.close();
  });
});
