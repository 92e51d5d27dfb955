import { describe, expect, it } from "vitest";
import {
  ALLOWED_MODELS_HEADER,
  MAX_SIGNATURE_SKEW_SECONDS,
  MAX_TOKENS_HEADER,
  SIGNATURE_HEADER,
  signingString,
  signRequest,
  TIMESTAMP_HEADER,
  verifySignature,
} from "../src/index.js";

const secret = "test-secret-0123456789";
const now = 1_760_000_000;
const request = {
  method: "POST",
  pathAndQuery: "/v1/chat/completions?trace=1",
  body: '{"model":"m","messages":[{"role":"user","content":"héllo"}]}',
};

async function signed() {
  const headers = await signRequest(secret, request, now);
  return { ...request, timestamp: headers[TIMESTAMP_HEADER], signature: headers[SIGNATURE_HEADER] };
}

describe("request signing", () => {
  it("matches an independently computed HMAC-SHA256 (node:crypto)", async () => {
    const { createHash, createHmac } = await import("node:crypto");
    const bodyHash = createHash("sha256").update(request.body, "utf8").digest("hex");
    const text = `POST\n/v1/chat/completions?trace=1\n${now}\n${bodyHash}`;
    expect(await signingString(request, now)).toBe(text);
    const headers = await signRequest(secret, request, now);
    expect(headers).toEqual({
      "x-gearbox-timestamp": String(now),
      "x-gearbox-signature": `v1=${createHmac("sha256", secret).update(text).digest("hex")}`,
    });
  });

  it("hashes an absent body as the empty string and bytes as given", async () => {
    const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    expect(await signingString({ method: "get", pathAndQuery: "/health" }, 5)).toBe(
      `GET\n/health\n5\n${empty}`,
    );
    expect(await signingString({ ...request, body: new TextEncoder().encode(request.body) }, now)).toBe(
      await signingString(request, now),
    );
  });

  it("verifies what it signed, within the allowed skew", async () => {
    const parts = await signed();
    expect(await verifySignature(secret, parts, { nowSeconds: now })).toEqual({ ok: true });
    expect(await verifySignature(secret, parts, { nowSeconds: now + MAX_SIGNATURE_SKEW_SECONDS })).toEqual({
      ok: true,
    });
    expect(await verifySignature(secret, parts, { nowSeconds: now - MAX_SIGNATURE_SKEW_SECONDS })).toEqual({
      ok: true,
    });
  });

  const tampered: [string, (p: Awaited<ReturnType<typeof signed>>) => object, string][] = [
    ["another method", (p) => ({ ...p, method: "PUT" }), "does not match"],
    ["another path", (p) => ({ ...p, pathAndQuery: "/v1/completions?trace=1" }), "does not match"],
    ["another query", (p) => ({ ...p, pathAndQuery: "/v1/chat/completions?trace=2" }), "does not match"],
    ["another body", (p) => ({ ...p, body: p.body.replace("héllo", "hello") }), "does not match"],
    ["another timestamp", (p) => ({ ...p, timestamp: String(now + 1) }), "does not match"],
    ["no signature", (p) => ({ ...p, signature: null }), "missing x-gearbox-signature"],
    ["no timestamp", (p) => ({ ...p, timestamp: undefined }), "missing x-gearbox-timestamp"],
    ["a malformed signature", (p) => ({ ...p, signature: p.signature.slice(0, -2) }), "not of the form"],
    [
      "an unknown version",
      (p) => ({ ...p, signature: p.signature.replace("v1=", "v2=") }),
      "not of the form",
    ],
    ["a malformed timestamp", (p) => ({ ...p, timestamp: "12.5" }), "not a unix time"],
  ];
  for (const [name, change, reason] of tampered) {
    it(`rejects ${name}`, async () => {
      const result = await verifySignature(secret, change(await signed()) as never, { nowSeconds: now });
      expect(result.ok).toBe(false);
      expect(!result.ok && result.reason).toContain(reason);
    });
  }

  it("rejects a stale or future signature", async () => {
    const parts = await signed();
    const stale = await verifySignature(secret, parts, { nowSeconds: now + MAX_SIGNATURE_SKEW_SECONDS + 1 });
    expect(stale).toEqual({ ok: false, reason: "stale signature: timestamp is 61 s from now (limit 60 s)" });
    const future = await verifySignature(secret, parts, { nowSeconds: now - 61 });
    expect(future.ok).toBe(false);
  });

  it("rejects the wrong secret, and refuses an empty one", async () => {
    const result = await verifySignature("another-secret", await signed(), { nowSeconds: now });
    expect(result).toEqual({ ok: false, reason: "signature does not match" });
    await expect(signRequest("", request)).rejects.toThrow("secret is empty");
  });

  it("uses the clock by default", async () => {
    const headers = await signRequest(secret, request);
    const parts = { ...request, timestamp: headers[TIMESTAMP_HEADER], signature: headers[SIGNATURE_HEADER] };
    expect(Math.abs(Number(headers[TIMESTAMP_HEADER]) - Date.now() / 1000)).toBeLessThan(5);
    expect(await verifySignature(secret, parts)).toEqual({ ok: true });
  });

  it("covers the directive headers: removing, changing or adding one breaks the signature", async () => {
    const directives = { [MAX_TOKENS_HEADER]: "40", [ALLOWED_MODELS_HEADER]: "tiny-zh" };
    const headers = await signRequest(secret, { ...request, directives }, now);
    const parts = { ...request, timestamp: headers[TIMESTAMP_HEADER], signature: headers[SIGNATURE_HEADER] };
    const verify = (d: Record<string, string>) =>
      verifySignature(secret, { ...parts, directives: d }, { nowSeconds: now });
    expect(await verify(directives)).toEqual({ ok: true });
    expect((await verify({ [MAX_TOKENS_HEADER]: "40" })).ok).toBe(false);
    expect((await verify({ ...directives, [MAX_TOKENS_HEADER]: "4000" })).ok).toBe(false);
    expect((await verify({ ...directives, [ALLOWED_MODELS_HEADER]: "tiny-zh,tiny-en" })).ok).toBe(false);
    // Without directives the signing string is the same as before they existed.
    expect(await signingString({ ...request, directives: {} }, now)).toBe(await signingString(request, now));
  });
});
