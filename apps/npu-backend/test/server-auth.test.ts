/**
 * Who may call the backend: requests signed by the edge (HMAC over method, path, timestamp and
 * body), or carrying one of the backend's own API keys; everything else is a 401 in the OpenAI
 * shape. /health and /metrics stay open for probes and scrapers.
 */
import { NONCE_HEADER, signRequest } from "@gearbox/shared";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/server/backend.js";
import { json, startTestBackend, TEST_SECRET } from "./server-harness.js";

const API_KEY = "local-key-0123456789";
let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend({ auth: { upstreamSecret: TEST_SECRET, apiKeys: [API_KEY] } });
});
afterAll(async () => {
  await backend?.shutdown(0);
});

const PATH = "/v1/chat/completions";
const BODY = JSON.stringify({ model: "tiny-en", messages: [{ role: "user", content: "hi" }], max_tokens: 2 });

async function call(headers: Record<string, string>, body = BODY, path = PATH) {
  const response = await fetch(`${backend.url}${path}`, { method: "POST", headers, body });
  return { status: response.status, json: await json(response) };
}

describe("edge signatures", () => {
  it("accept a request signed with the shared secret", async () => {
    const headers = await signRequest(TEST_SECRET, { method: "POST", pathAndQuery: PATH, body: BODY });
    expect((await call({ ...headers })).status).toBe(200);
  });

  it("refuse an unsigned request, a wrong secret, a stale timestamp and a changed body", async () => {
    const unsigned = await call({});
    expect(unsigned.status).toBe(401);
    expect(unsigned.json.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });

    const wrong = await signRequest("another-secret-0123456789", {
      method: "POST",
      pathAndQuery: PATH,
      body: BODY,
    });
    expect((await call({ ...wrong })).json.error.message).toContain("signature does not match");

    const stale = await signRequest(
      TEST_SECRET,
      { method: "POST", pathAndQuery: PATH, body: BODY },
      Math.floor(Date.now() / 1000) - 600,
    );
    expect((await call({ ...stale })).json.error.message).toContain("stale signature");

    const other = await signRequest(TEST_SECRET, { method: "POST", pathAndQuery: PATH, body: "{}" });
    const changed = await call({ ...other });
    expect(changed.status).toBe(401);
    expect(changed.json.error.message).toContain("signature does not match");
  });

  it("refuse a replayed request: a signature is accepted once", async () => {
    const nonce = (value: string) => ({ [NONCE_HEADER]: value });
    const headers = {
      ...(await signRequest(TEST_SECRET, {
        method: "POST",
        pathAndQuery: PATH,
        body: BODY,
        directives: nonce("a0"),
      })),
      ...nonce("a0"),
    };
    expect((await call(headers)).status).toBe(200);
    const replayed = await call(headers);
    expect(replayed.status).toBe(401);
    expect(replayed.json.error.message).toContain("already used");
    // The same request signed again (the edge adds a fresh nonce each time) is a new signature.
    for (const value of ["a1", "a2"]) {
      const again = await signRequest(TEST_SECRET, {
        method: "POST",
        pathAndQuery: PATH,
        body: BODY,
        directives: nonce(value),
      });
      expect((await call({ ...again, ...nonce(value) })).status).toBe(200);
    }
  });

  it("refuse a bad signature even with a valid API key beside it", async () => {
    const wrong = await signRequest("another-secret-0123456789", {
      method: "POST",
      pathAndQuery: PATH,
      body: BODY,
    });
    expect((await call({ ...wrong, authorization: `Bearer ${API_KEY}` })).status).toBe(401);
  });
});

describe("the backend's own API keys", () => {
  it("let the official client in with the key, and not without", async () => {
    const good = new OpenAI({ baseURL: `${backend.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const r = await good.chat.completions.create({
      model: "tiny-en",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });
    expect(r.choices).toHaveLength(1);
    expect((await good.models.list()).data.map((m) => m.id)).toContain("tiny-en");
    const bad = new OpenAI({ baseURL: `${backend.url}/v1`, apiKey: "wrong-key", maxRetries: 0 });
    const error = await bad.models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: "invalid_api_key" });
  });

  it("answer a malformed Authorization header with 401 too", async () => {
    expect((await call({ authorization: "Basic abc" })).status).toBe(401);
    expect((await call({ authorization: "Bearer " })).status).toBe(401);
  });
});

describe("open endpoints", () => {
  it("/health and /metrics need no credentials", async () => {
    const health = await fetch(`${backend.url}/health`);
    expect(health.status).toBe(200);
    expect(await json(health)).toEqual({ status: "ok", models: ["tiny-en", "auto"], running: 0, waiting: 0 });
    const metrics = await fetch(`${backend.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("gearbox:num_requests_running");
  });
});
