/**
 * The playground page at the edge, without a browser (test/playground-browser.test.ts drives it in
 * Chromium): served at /playground without a key, / redirects there, and the page's own script and
 * style are exactly what its Content-Security-Policy allows.
 */
import { createHash } from "node:crypto";
import { PLAYGROUND_HTML } from "@gearbox/playground";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Edge, startEdge, TEST_SECRET } from "./edge-harness.js";
import { StandInUpstream } from "./stand-in-upstream.js";

let upstream: StandInUpstream;
let edge: Edge;

beforeAll(async () => {
  upstream = await new StandInUpstream(TEST_SECRET).start();
  edge = await startEdge([upstream.url]);
});
afterAll(async () => {
  await edge?.dispose();
  await upstream?.kill();
});

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

describe("GET /playground", () => {
  it("serves the page without an API key, and / redirects to it", async () => {
    const page = await fetch(`${edge.url}/playground`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await page.text()).toBe(PLAYGROUND_HTML);
    const root = await fetch(`${edge.url}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/playground");
    // A path below it is still the API's 404, in the OpenAI error shape.
    const other = await fetch(`${edge.url}/playground/x`);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("unknown_url");
  });

  it("allows by hash exactly the page's inline script and style, and nothing from elsewhere", async () => {
    const page = await fetch(`${edge.url}/playground`);
    const csp = page.headers.get("content-security-policy") ?? "";
    const html = await page.text();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
    const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? "";
    expect(script.length).toBeGreaterThan(1000);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src ${sha256(script)};`);
    expect(csp).toContain(`style-src ${sha256(style)};`);
    // No external resource: every src/href in the page is absent or a fragment.
    expect(html).not.toMatch(/\s(src|href)=["'](?!#)/);
  });
});
