/**
 * `gearbox keys create` writes keys the edge accepts: the command stores a key in a local wrangler
 * state directory (through wrangler, as in local dev), and the worker, run on that state, lets
 * the key in with exactly the limits it was created with. The CLI runs as its own process (the
 * built `gearbox` bin), as a user runs it: the edge never imports the backend.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, chatBody, startEdge, TEST_SECRET } from "./edge-harness.js";
import { StandInUpstream } from "./stand-in-upstream.js";

const wranglerToml = fileURLToPath(new URL("../../../wrangler.toml", import.meta.url));
const gearbox = fileURLToPath(new URL("../../local/bin/gearbox.js", import.meta.url));
let state: string;
let upstream: StandInUpstream;

beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), "gearbox-keys-"));
  upstream = await new StandInUpstream(TEST_SECRET).start();
});
afterAll(async () => {
  await upstream?.kill();
  await rm(state, { recursive: true, force: true });
});

/** Runs `gearbox keys ...`, returning its exit code and what it wrote. */
function keys(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [gearbox, "keys", ...argv], (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("gearbox keys create", () => {
  it("stores a key the edge then accepts, with its models and limits", async () => {
    const created = await keys([
      "create",
      "--name",
      "cli-made",
      "--models",
      "llama-3.2-1b-en",
      "--rpm",
      "5",
      "--config",
      wranglerToml,
      "--persist-to",
      state,
    ]);
    expect(created.stderr).toContain("only time the key is shown");
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^gbx-[0-9a-f]{64}$/);

    const edge = await startEdge([upstream.url], {}, state);
    try {
      const ok = await fetch(`${edge.url}/v1/chat/completions`, {
        method: "POST",
        headers: authHeaders(key),
        body: chatBody(),
      });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-ratelimit-limit-requests")).toBe("5");
      await ok.json();
      const other = await fetch(`${edge.url}/v1/chat/completions`, {
        method: "POST",
        headers: authHeaders(key),
        body: JSON.stringify({ model: "llama-3.2-3b-zh", messages: [{ role: "user", content: "x" }] }),
      });
      expect(other.status).toBe(403);
      const wrong = await fetch(`${edge.url}/v1/models`, { headers: authHeaders(`${key.slice(0, -1)}x`) });
      expect(wrong.status).toBe(401);
    } finally {
      await edge.dispose();
    }
  });

  it("prints the record and the wrangler command with --print, storing nothing", async () => {
    const printed = await keys(["create", "--name", "ops", "--tpm", "1000", "--print"]);
    expect(printed.code).toBe(0);
    expect(printed.stdout.trim()).toMatch(/^gbx-[0-9a-f]{64}$/);
    expect(printed.stderr).toContain("Nothing stored");
    expect(printed.stderr).toContain("npx wrangler kv key put --binding API_KEYS --remote 'key:");
    expect(printed.stderr).toContain('"name":"ops","models":null,"rpm":null,"tpm":1000');
  });

  it("rejects bad command lines with exit code 2 and a message naming the option", async () => {
    const cases: [string[], string][] = [
      [["create"], "--name is required"],
      [["create", "--name", "x", "--rpm", "0"], "--rpm must be an integer"],
      [["create", "--name", "x", "--models", "a,,b"], "--models has an empty model id"],
      [["create", "--name", "x", "--local", "--remote"], "choose one of --local, --remote"],
      [["delete"], "unknown keys subcommand 'delete'"],
    ];
    for (const [argv, message] of cases) {
      const result = await keys(argv);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe("");
    }
  });
});
