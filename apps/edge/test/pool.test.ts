/** The backend pool through the real worker: load balancing, failover, health, 503 when none. */
import { createServer } from "node:net";
import { errorBodySchema } from "@gearbox/shared";
import { afterEach, describe, expect, it } from "vitest";
import { authHeaders, chatBody, type Edge, startEdge, TEST_SECRET } from "./edge-harness.js";
import { StandInUpstream } from "./stand-in-upstream.js";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function upstreams(count: number): Promise<StandInUpstream[]> {
  const started = await Promise.all(
    Array.from({ length: count }, () => new StandInUpstream(TEST_SECRET).start()),
  );
  for (const upstream of started) cleanup.push(() => upstream.kill());
  return started;
}

async function edgeFor(
  urls: string[],
  vars: Record<string, string> = {},
): Promise<{ edge: Edge; key: string }> {
  const edge = await startEdge(urls, vars);
  cleanup.push(() => edge.dispose());
  return { edge, key: await edge.addKey() };
}

async function chat(edge: Edge, key: string, content = "hello", stream = false): Promise<Response> {
  return fetch(`${edge.url}/v1/chat/completions`, {
    method: "POST",
    headers: authHeaders(key),
    body: chatBody(content, { stream }),
  });
}

/** A loopback port with nothing listening on it. */
async function deadPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe("load balancing", () => {
  it("sends requests to the backend with the fewest in flight", async () => {
    const [a, b] = await upstreams(2);
    if (!a || !b) throw new Error("no upstreams");
    const { edge, key } = await edgeFor([a.url, b.url]);
    const busy = new AbortController();
    const long = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: authHeaders(key),
      body: chatBody("hang", { stream: true }),
      signal: busy.signal,
    });
    expect(long.status).toBe(200);
    const [occupied, free] = a.completions.length === 1 ? [a, b] : [b, a];
    for (let i = 0; i < 6; i++) await (await chat(edge, key)).json();
    expect(occupied.completions).toHaveLength(1);
    expect(free.completions).toHaveLength(6);
    busy.abort();
  });

  it("counts the load a backend reports (other edges' requests) too", async () => {
    const [a, b] = await upstreams(2);
    if (!a || !b) throw new Error("no upstreams");
    a.otherLoad = 5;
    const { edge, key } = await edgeFor([a.url, b.url]);
    await fetch(`${edge.url}/health`); // the probes read running + waiting
    for (let i = 0; i < 4; i++) await (await chat(edge, key)).json();
    expect(a.completions).toHaveLength(0);
    expect(b.completions).toHaveLength(4);
  });

  it("shares equal backends between them", async () => {
    const [a, b] = await upstreams(2);
    if (!a || !b) throw new Error("no upstreams");
    const { edge, key } = await edgeFor([a.url, b.url]);
    for (let i = 0; i < 10; i++) await (await chat(edge, key)).json();
    expect(a.completions.length).toBeGreaterThanOrEqual(3);
    expect(b.completions.length).toBeGreaterThanOrEqual(3);
  });
});

describe("failover", () => {
  it("keeps serving, without a single failed request, when one backend dies", async () => {
    const [a, b] = await upstreams(2);
    if (!a || !b) throw new Error("no upstreams");
    const { edge, key } = await edgeFor([a.url, b.url]);
    for (let i = 0; i < 4; i++) expect((await chat(edge, key)).status).toBe(200);
    await a.kill();
    const servedBefore = b.completions.length;
    for (let i = 0; i < 12; i++) {
      const response = await chat(edge, key, "chunks=2", i % 2 === 0);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain("tok1");
    }
    expect(b.completions.length - servedBefore).toBe(12);
  });

  it("retries a 503 (overloaded) answer on another backend and backs off the first", async () => {
    const [a, b] = await upstreams(2);
    if (!a || !b) throw new Error("no upstreams");
    a.forcedStatus = 503;
    const { edge, key } = await edgeFor([a.url, b.url]);
    for (let i = 0; i < 8; i++) {
      const response = await chat(edge, key);
      expect(response.status).toBe(200);
      await response.json();
    }
    // Tried once, then left alone during its back-off.
    expect(a.completions).toHaveLength(1);
    expect(b.completions).toHaveLength(8);
  });

  it("never relays a backend's 401 (it refused the edge's signature): retries elsewhere and backs it off", async () => {
    const skewed = await new StandInUpstream("another-secret-0123456789abcdef").start();
    cleanup.push(() => skewed.kill());
    // Alone, the request reaches it, and the client gets a 503 (no backend), not an invalid_api_key 401.
    // The request starts the edge's first health probe beside it; that probe's 401 would back the
    // backend off before the request is forwarded if it came back first, so it is held back here.
    skewed.healthDelayMs = 2000;
    const alone = await edgeFor([skewed.url]);
    const refused = await chat(alone.edge, alone.key);
    expect(refused.status).toBe(503);
    expect(errorBodySchema.parse(await refused.json()).error.code).toBe("server_overloaded");
    expect(skewed.completions).toHaveLength(1);
    skewed.healthDelayMs = 0;
    // Beside a good backend, every request is served (its health probes are refused too).
    const [good] = await upstreams(1);
    if (!good) throw new Error("no upstreams");
    const { edge, key } = await edgeFor([skewed.url, good.url]);
    for (let i = 0; i < 6; i++) {
      const response = await chat(edge, key);
      expect(response.status).toBe(200);
      await response.json();
    }
    expect(skewed.completions.length).toBeLessThanOrEqual(2);
    expect(good.completions).toHaveLength(6);
  });

  it("does not retry once a backend has answered (a mid-stream failure is the client's)", async () => {
    const [a, b] = await upstreams(2);
    if (!a || !b) throw new Error("no upstreams");
    const { edge, key } = await edgeFor([a.url, b.url]);
    const response = await chat(edge, key, "chunks=5 fail-after=1", true);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('"code":"upstream_error"');
    expect(a.completions.length + b.completions.length).toBe(1);
  });
});

describe("no backend available", () => {
  it("answers 503 server_overloaded with retry-after, and /health says 503", async () => {
    const { edge, key } = await edgeFor([await deadPort(), await deadPort()]);
    const response = await chat(edge, key);
    expect(response.status).toBe(503);
    const error = errorBodySchema.parse(await response.json()).error;
    expect(error).toMatchObject({ type: "server_error", code: "server_overloaded" });
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);

    const again = await chat(edge, key, "hello", true);
    expect(again.status).toBe(503);
    await again.text();
    const health = await fetch(`${edge.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: "unavailable", upstreams: { available: 0, total: 2 } });
  });

  it("takes a warming backend (health 503) out, and back in once its /health says ok", async () => {
    const [a] = await upstreams(1);
    if (!a) throw new Error("no upstream");
    a.healthStatus = "loading";
    const { edge, key } = await edgeFor([a.url], { HEALTH_CHECK_INTERVAL_MS: "100" });
    expect((await fetch(`${edge.url}/health`)).status).toBe(503);
    const refused = await chat(edge, key);
    expect(refused.status).toBe(503);
    expect(a.completions).toHaveLength(0);

    a.healthStatus = "ok";
    // The next health probe brings it back, whatever is left of its back-off.
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await fetch(`${edge.url}/health`)).status;
    }
    expect(status).toBe(200);
    const served = await chat(edge, key);
    expect(served.status).toBe(200);
    await served.json();
  });
});
