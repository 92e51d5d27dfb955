/**
 * The backend's commands of the `gearbox` CLI, and the dispatcher. One module per subcommand,
 * loaded on demand so that `gearbox make-model` never pays for loading the server or the engine.
 * The `gearbox` bin itself is @gearbox/local's: it adds `start` and `keys` (which drive wrangler).
 */
export interface Command {
  /** Runs the subcommand with its own arguments; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

export interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

export const backendCommands: Record<string, CommandEntry> = {
  serve: { summary: "serve the OpenAI API (the backend)", load: () => import("./serve.js") },
  "make-model": {
    summary: "write a synthetic Llama 3 model (random weights, real tokenizer)",
    load: () => import("./make-model.js"),
  },
  inspect: {
    summary: "show a GGUF model's metadata, tensor types and memory needs",
    load: () => import("./inspect.js"),
  },
  run: { summary: "generate from a prompt on the engine directly", load: () => import("./run.js") },
  bench: { summary: "measure prefill and decode throughput of a model", load: () => import("./bench.js") },
  gears: { summary: "suggest a gear ladder from observed step sizes", load: () => import("./gears.js") },
};

function usage(commands: Record<string, CommandEntry>): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: gearbox <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'gearbox <command> --help' for a command's options.\n`;
}

/** Runs `gearbox <command> ...` over `commands` (default: the backend's). */
export async function main(argv: string[], commands = backendCommands): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage(commands));
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`gearbox: unknown command '${name}'\n\n${usage(commands)}`);
    return 2;
  }
  const command = await entry.load();
  return command.run(rest);
}
