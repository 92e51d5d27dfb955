/**
 * The backend serves the same playground page as the edge (one source: @gearbox/playground), at
 * /playground, without a key; the API next to it keeps its authentication.
 */
import { PLAYGROUND_HEADERS, PLAYGROUND_HTML } from "@gearbox/playground";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/server/backend.js";
import { startTestBackend } from "./server-harness.js";

let backend: Backend;

beforeAll(async () => {
  backend = await startTestBackend({ auth: { apiKeys: ["sk-playground-test"] } });
});
afterAll(async () => {
  await backend?.shutdown(0);
});

describe("GET /playground on the backend", () => {
  it("serves the page with its headers, while /v1 still asks for the key", async () => {
    const page = await fetch(`${backend.url}/playground`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe(PLAYGROUND_HEADERS["content-security-policy"]);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toBe(PLAYGROUND_HTML);
    const models = await fetch(`${backend.url}/v1/models`);
    expect(models.status).toBe(401);
    const keyed = await fetch(`${backend.url}/v1/models`, {
      headers: { authorization: "Bearer sk-playground-test" },
    });
    expect(keyed.status).toBe(200);
  });
});
