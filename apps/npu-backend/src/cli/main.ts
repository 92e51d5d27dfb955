/**
 * Entry point of the `gearbox` CLI. One module per subcommand, loaded on demand so that
 * `gearbox make-model` never pays for loading the server or the engine.
 */
export interface Command {
  /** Runs the subcommand with its own arguments; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

const commands: Record<string, CommandEntry> = {
  serve: { summary: "serve the OpenAI API (the backend)", load: () => import("./serve.js") },
  start: {
    summary: "run everything locally: demo model, backend and edge (npm start)",
    load: () => import("./start.js"),
  },
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
  keys: { summary: "create an API key for the edge (stores only its hash)", load: () => import("./keys.js") },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: gearbox <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'gearbox <command> --help' for a command's options.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`gearbox: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  return command.run(rest);
}
