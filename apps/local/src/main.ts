/**
 * The whole `gearbox` CLI: the backend's commands plus `start` and `keys`, which drive wrangler
 * and so live here, in the package that declares it.
 */
import { backendCommands, type CommandEntry, main as runCli } from "@gearbox/npu-backend/cli/main";

const { serve, ...rest } = backendCommands;

export const commands: Record<string, CommandEntry> = {
  ...(serve ? { serve } : {}),
  start: {
    summary: "run everything locally: demo model, backend and edge (npm start)",
    load: () => import("./start.js"),
  },
  ...rest,
  keys: { summary: "create an API key for the edge (stores only its hash)", load: () => import("./keys.js") },
};

export function main(argv: string[]): Promise<number> {
  return runCli(argv, commands);
}
