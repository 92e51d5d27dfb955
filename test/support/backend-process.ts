/**
 * `gearbox serve` as its own process, as a user runs it: started on a free port with the given
 * arguments, resolved once it prints that it serves, stopped with SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const GEARBOX = fileURLToPath(new URL("../../apps/npu-backend/bin/gearbox.js", import.meta.url));

export interface BackendProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startBackendProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<BackendProcess> {
  const child = spawn(process.execPath, [GEARBOX, "serve", ...args, "--port", "0"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk;
      const match = /serving .* on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1]) resolve(match[1]);
    });
    child.on("exit", (code) => reject(new Error(`gearbox serve exited (${code}):\n${stderr}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}
