/** `gearbox inspect`: what a GGUF model holds and how much memory it needs. */
import { DEFAULT_SUMMARY_CONTEXT, type ModelSummary, summarizeModel } from "@gearbox/gguf/model-summary";
import { readGguf } from "@gearbox/gguf/reader";
import { formatBytes, integerOption, parseCommandArgs, requireOption, runCommand } from "./args.js";

const USAGE = `usage: gearbox inspect --model FILE [--context N] [--json]

Prints a GGUF model's metadata, tensor types, parameter count and the memory needed to run it:
the weights plus an f16 KV cache for N tokens (default: the model's context, at most ${DEFAULT_SUMMARY_CONTEXT}).

  --json    print one JSON object instead of text
`;

export async function run(argv: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const args = parseCommandArgs(argv, {
      model: { type: "string", short: "m" },
      context: { type: "string" },
      json: { type: "boolean" },
    });
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const path = requireOption(args.model, "model");
    const contextLength = integerOption(args.context, "context", 1);
    const summary = summarizeModel(readGguf(path), contextLength === undefined ? {} : { contextLength });
    process.stdout.write(
      args.json ? `${JSON.stringify({ path, ...summary }, null, 2)}\n` : formatSummary(path, summary),
    );
    return 0;
  });
}

function formatSummary(path: string, s: ModelSummary): string {
  const h = s.hyperparameters;
  const t = s.tokenizer;
  const show = (v: number | string | null) => (v === null ? "?" : String(v));
  // f32 metadata read back as double (1e-5 is 9.999999747e-6): show what was meant.
  const showFloat = (v: number | null) => (v === null ? "?" : String(Number(v.toPrecision(6))));
  const types = Object.entries(s.tensorTypes)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${n}`)
    .join(", ");
  const rows: [string, string][] = [
    ["file", `${path} (${formatBytes(s.fileSize)}, GGUF v${s.ggufVersion})`],
    ["name", s.name ?? "?"],
    ["architecture", s.architecture],
    ["file type", s.fileType ? `${s.fileType.name} (general.file_type ${s.fileType.id})` : "?"],
    [
      "shape",
      `vocab ${show(h.vocabSize)}, hidden ${show(h.embeddingLength)}, layers ${show(h.blockCount)}, heads ${show(h.headCount)} (kv ${show(h.headCountKv)}, head dim ${show(h.headDim)}), ffn ${show(h.feedForwardLength)}`,
    ],
    ["context", show(h.contextLength)],
    [
      "rope",
      `theta ${showFloat(h.ropeFreqBase)}${h.ropeFreqFactors ? ", Llama 3 frequency factors (rope_freqs)" : ""}`,
    ],
    ["norm eps", showFloat(h.rmsNormEps)],
    ["embeddings", h.tiedEmbeddings ? "tied (output uses token_embd)" : "untied (output.weight)"],
    [
      "tokenizer",
      `${show(t.model)} / ${show(t.pre)}, ${show(t.tokenCount)} tokens, bos ${show(t.bosId)}, eos ${show(t.eosId)}, chat template ${t.hasChatTemplate ? "yes" : "no"}`,
    ],
    ["tensors", `${s.tensorCount}: ${types}`],
    ["parameters", `${(s.parameterCount / 1e9).toFixed(3)} B (${s.parameterCount.toLocaleString("en-US")})`],
    [
      "memory",
      `${formatBytes(s.memory.totalBytes)} = weights ${formatBytes(s.memory.weightsBytes)} + f16 KV cache ${formatBytes(s.memory.kvCacheBytes)} for ${s.memory.contextLength} tokens`,
    ],
  ];
  return `${rows.map(([k, v]) => `${k.padEnd(13)} ${v}`).join("\n")}\n`;
}
