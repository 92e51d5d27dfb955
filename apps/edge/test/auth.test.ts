/** API keys, the model allow-list, /v1/models, x-request-id and CORS, through the real worker. */
import { apiKeyStorageName, errorBodySchema, hashApiKey, modelListSchema } from "@gearbox/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, chatBody, type Edge, startEdge, TEST_SECRET } from "./edge-harness.js";
import { StandInUpstream } from "./stand-in-upstream.js";

let english: StandInUpstream;
let chinese: StandInUpstream;
let edge: Edge;

beforeAll(async () => {
  english = await new StandInUpstream(TEST_SECRET, ["llama-3.2-1b-en"]).start();
  chinese = await new StandInUpstream(TEST_SECRET, ["llama-3.2-3b-zh", "llama-3.2-1b-en"]).start();
  edge = await startEdge([english.url, chinese.url], { CORS_ORIGINS: "https://app.example" });
});
afterAll(async () => {
  await edge?.dispose();
  await english?.kill();
  await chinese?.kill();
});

function post(headers: Record<string, string>, body = chatBody()): Promise<Response> {
  return fetch(`${edge.url}/v1/chat/completions`, { method: "POST", headers, body });
}

async function expectError(response: Response, status: number, code: string): Promise<string> {
  expect(response.status).toBe(status);
  const body = errorBodySchema.parse(await response.json());
  expect(body.error.code).toBe(code);
  return body.error.message;
}

describe("API keys", () => {
  it("accepts a key as Authorization: Bearer and as x-api-key", async () => {
    const key = await edge.addKey();
    const bearer = await post(authHeaders(key));
    expect(bearer.status).toBe(200);
    expect(((await bearer.json()) as { object: string }).object).toBe("chat.completion");
    const xApiKey = await post({ "x-api-key": key, "content-type": "application/json" });
    expect(xApiKey.status).toBe(200);
    await xApiKey.body?.cancel();
  });

  it("rejects a missing, wrong or malformed key with 401 invalid_api_key, before any upstream call", async () => {
    const key = await edge.addKey();
    const before = english.completions.length + chinese.completions.length;
    expect(
      await expectError(await post({ "content-type": "application/json" }), 401, "invalid_api_key"),
    ).toContain("didn't provide an API key");
    await expectError(await post(authHeaders(`${key}x`)), 401, "invalid_api_key");
    await expectError(await post(authHeaders("gbx-not-a-key")), 401, "invalid_api_key");
    await expectError(await post({ authorization: `Basic ${key}` }), 401, "invalid_api_key");
    await expectError(
      await post({ "x-api-key": `${key.slice(0, -1)}${key.endsWith("0") ? "1" : "0"}` }),
      401,
      "invalid_api_key",
    );
    const models = await fetch(`${edge.url}/v1/models`);
    await expectError(models, 401, "invalid_api_key");
    expect(english.completions.length + chinese.completions.length).toBe(before);
  });

  it("honours a record only for the key it was issued for", async () => {
    const key = await edge.addKey({ name: "original" });
    const kv = await edge.mf.getKVNamespace("API_KEYS");
    const record = await kv.get(apiKeyStorageName(await hashApiKey(key)));
    // The same record filed by hand under another key's hash must not let that key in.
    const otherKey = "gbx-someone-else";
    await kv.put(apiKeyStorageName(await hashApiKey(otherKey)), record ?? "");
    await expectError(await post(authHeaders(otherKey)), 401, "invalid_api_key");
    const response = await post(authHeaders(key));
    expect(response.status).toBe(200);
    await response.body?.cancel();
  });
});

describe("model allow-list", () => {
  it("answers 403 model_not_allowed for a model outside the key's list, before any upstream call", async () => {
    const key = await edge.addKey({ models: ["llama-3.2-1b-en"] });
    const before = chinese.completions.length;
    const message = await expectError(
      await post(
        authHeaders(key),
        JSON.stringify({ model: "llama-3.2-3b-zh", messages: [{ role: "user", content: "你好" }] }),
      ),
      403,
      "model_not_allowed",
    );
    expect(message).toContain("llama-3.2-3b-zh");
    expect(chinese.completions.length).toBe(before);
    const allowed = await post(authHeaders(key));
    expect(allowed.status).toBe(200);
    await allowed.body?.cancel();
  });

  it("routes a model to a backend that serves it", async () => {
    const key = await edge.addKey();
    await fetch(`${edge.url}/health`); // the edge learns who serves what
    const before = chinese.completions.length;
    for (let i = 0; i < 3; i++) {
      const response = await post(
        authHeaders(key),
        JSON.stringify({ model: "llama-3.2-3b-zh", messages: [{ role: "user", content: "x" }] }),
      );
      expect(response.status).toBe(200);
      expect(response.headers.get("x-gearbox-model")).toBe("llama-3.2-3b-zh");
      await response.body?.cancel();
    }
    expect(chinese.completions.length).toBe(before + 3);
  });

  it("lists the union of the backends' models, filtered by the key", async () => {
    const all = await fetch(`${edge.url}/v1/models`, { headers: authHeaders(await edge.addKey()) });
    expect(all.status).toBe(200);
    const list = modelListSchema.parse(await all.json());
    expect(list.data.map((m) => m.id).sort()).toEqual(["llama-3.2-1b-en", "llama-3.2-3b-zh"]);

    const some = await fetch(`${edge.url}/v1/models`, {
      headers: authHeaders(await edge.addKey({ models: ["llama-3.2-3b-zh"] })),
    });
    expect(modelListSchema.parse(await some.json()).data.map((m) => m.id)).toEqual(["llama-3.2-3b-zh"]);
  });
});

describe("x-request-id", () => {
  it("propagates the client's id to the backend and back", async () => {
    const key = await edge.addKey();
    const response = await post({ ...authHeaders(key), "x-request-id": "client-id-42" });
    expect(response.headers.get("x-request-id")).toBe("client-id-42");
    await response.body?.cancel();
    const seen = [...english.completions, ...chinese.completions].filter(
      (r) => r.headers["x-request-id"] === "client-id-42",
    );
    expect(seen).toHaveLength(1);
  });

  it("creates one when the client sends none (or an unusable one), also on errors", async () => {
    const key = await edge.addKey();
    const created = await post(authHeaders(key), chatBody("hello again"));
    const id = created.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await created.body?.cancel();
    const all = [...english.completions, ...chinese.completions];
    expect(all.some((r) => r.headers["x-request-id"] === id)).toBe(true);

    const replaced = await post({ ...authHeaders(key), "x-request-id": "bad id with spaces" });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    await replaced.body?.cancel();

    const failed = await post({ "content-type": "application/json", "x-request-id": "on-error" });
    expect(failed.status).toBe(401);
    expect(failed.headers.get("x-request-id")).toBe("on-error");
  });
});

describe("CORS (CORS_ORIGINS set)", () => {
  it("answers a preflight without a key and exposes the rate-limit headers", async () => {
    const preflight = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type, x-stainless-os",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");

    const key = await edge.addKey();
    const response = await post({ ...authHeaders(key), origin: "https://app.example" });
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(response.headers.get("access-control-expose-headers")).toContain("x-ratelimit-remaining-requests");
    await response.body?.cancel();

    const other = await post({ ...authHeaders(key), origin: "https://evil.example" });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    await other.body?.cancel();
  });
});
