/**
 * A backend's life: /health is 503 while the models load and warm up, then 200; shutdown lets a
 * running stream finish (or, after the grace period, ends it with an error frame); and the
 * `gearbox serve` command does all of it as a process (SIGTERM exits cleanly).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { SseParser } from "@gearbox/shared";
import { describe, expect, it } from "vitest";
import type { Engine } from "../src/engine/engine.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import type { Backend } from "../src/server/backend.js";
import { json, startTestBackend } from "./server-harness.js";
import { ensureModel } from "./support/models.js";

const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    model: "tiny-en",
    messages: [{ role: "user", content: "Hello" }],
    temperature: 0,
    ...extra,
  });

/** Reads a stream to its end; returns its data events. */
async function readEvents(response: Response): Promise<string[]> {
  const parser = new SseParser();
  const data: string[] = [];
  for await (const bytes of response.body ?? []) {
    for (const m of parser.push(bytes)) if (m.kind === "event") data.push(m.data);
  }
  return data;
}

describe("health while loading", () => {
  it("is 503 loading until the model is loaded and warm, then 200 ok", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The real engine, held back until the test has looked.
    const gated: Engine = {
      loadModel: async (path, options) => {
        await gate;
        return nativeEngine.loadModel(path, options);
      },
    };
    const backend = await startTestBackend({}, { engine: gated, waitReady: false });
    try {
      const loading = await fetch(`${backend.url}/health`);
      expect(loading.status).toBe(503);
      expect(await json(loading)).toEqual({ status: "loading", models: [], running: 0, waiting: 0 });
      const early = await fetch(`${backend.url}/v1/chat/completions`, { method: "POST", body: chat() });
      expect(early.status).toBe(503);
      expect(early.headers.get("retry-after")).toBe("5");
      expect((await json(early)).error.code).toBe("server_overloaded");
      release();
      await backend.ready;
      const ready = await fetch(`${backend.url}/health`);
      expect(ready.status).toBe(200);
      expect((await json(ready)).status).toBe("ok");
    } finally {
      release();
      await backend.shutdown(0);
    }
  });
});

describe("shutdown", () => {
  async function startStream(backend: Backend, maxTokens: number): Promise<Response> {
    const response = await fetch(`${backend.url}/v1/chat/completions`, {
      method: "POST",
      body: chat({ max_tokens: maxTokens, stream: true }),
    });
    expect(response.status).toBe(200);
    return response;
  }

  it("lets a running stream finish within the grace period, and refuses new work", async () => {
    const backend = await startTestBackend();
    const response = await startStream(backend, 60);
    const stopping = backend.shutdown(30_000);
    const refused = await fetch(`${backend.url}/v1/chat/completions`, { method: "POST", body: chat() }).catch(
      (error: unknown) => error,
    );
    // Either the listener is already closed, or the request is turned away while draining.
    if (refused instanceof Response) expect(refused.status).toBe(503);
    else expect(refused).toBeInstanceOf(Error);
    const data = await readEvents(response);
    expect(data.at(-1)).toBe("[DONE]");
    await stopping;
    expect(backend.models.state).toBe("draining");
  });

  it("ends a stream still running after the grace period with an error frame", async () => {
    const backend = await startTestBackend();
    const response = await startStream(backend, 900);
    await backend.shutdown(50);
    const data = await readEvents(response);
    expect(data).not.toContain("[DONE]");
    expect(JSON.parse(data.at(-1) ?? "{}")).toMatchObject({ error: { code: "server_overloaded" } });
    expect(JSON.parse(data.at(-1) ?? "{}").error.message).toContain("shutting down");
  });
});

describe("gearbox serve", () => {
  const bin = fileURLToPath(new URL("../../local/bin/gearbox.js", import.meta.url));

  async function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [bin, "serve", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const [code] = (await once(child, "exit")) as [number | null];
    return { code, stderr };
  }

  it("serves a model file, then exits cleanly on SIGTERM", async () => {
    const model = await ensureModel("tiny", "q8_0");
    const child: ChildProcess = spawn(
      process.execPath,
      [bin, "serve", "--model", model, "--model-id", "tiny-cli", "--open", "--port", "0"],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, GEARBOX_UPSTREAM_SECRET: "" } },
    );
    let stderr = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk;
        const match = /serving .* on (http:\/\/\S+)/.exec(stderr);
        if (match?.[1]) resolve(match[1]);
      });
      child.on("exit", () => reject(new Error(`gearbox serve exited early:\n${stderr}`)));
    });
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny-cli", messages: [{ role: "user", content: "hi" }], max_tokens: 3 }),
    });
    expect(response.status).toBe(200);
    expect((await json(response)).usage.completion_tokens).toBe(3);
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    expect(stderr).toContain("shutting down");
  });

  it("refuses to start without a model, and open mode on a public address", async () => {
    const nothing = await run([]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain("give --config FILE or --model FILE");
    const model = await ensureModel("tiny", "q8_0");
    const open = await run(["--model", model, "--open", "--host", "0.0.0.0"]);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain("binds only a loopback host");
    const locked = await run(["--model", model]);
    expect(locked.code).toBe(2);
    expect(locked.stderr).toContain("nobody could call this backend");
  });
});
