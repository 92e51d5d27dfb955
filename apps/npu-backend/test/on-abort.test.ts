/** A request's abort reaches its generation even when the client left before the listener was attached. */
import { describe, expect, it } from "vitest";
import { onAbort } from "../src/server/on-abort.js";

describe("onAbort", () => {
  it("runs the handler at once for a signal that already fired (a listener added now never would)", () => {
    const controller = new AbortController();
    controller.abort();
    let calls = 0;
    onAbort(controller.signal, () => calls++);
    expect(calls).toBe(1);
  });

  it("runs it once when the signal fires later", () => {
    const controller = new AbortController();
    let calls = 0;
    onAbort(controller.signal, () => calls++);
    expect(calls).toBe(0);
    controller.abort();
    controller.abort();
    expect(calls).toBe(1);
  });
});
