/** `gearbox make-model`: writes a synthetic Llama 3 model (random weights, real tokenizer). */
import { MODEL_FILE_TYPES } from "@gearbox/gguf/model-maker/file-types";
import { DEFAULT_MODEL_SEED, makeModel } from "@gearbox/gguf/model-maker/make-model";
import { SHAPE_NAMES } from "@gearbox/gguf/model-maker/shapes";
import {
  choiceOption,
  formatBytes,
  integerOption,
  parseCommandArgs,
  requireOption,
  runCommand,
} from "./args.js";
import { progressBar } from "./progress.js";

const USAGE = `usage: gearbox make-model --shape ${SHAPE_NAMES.join("|")} [--type ${MODEL_FILE_TYPES.join("|")}] [--seed N] --out FILE

Writes a synthetic Llama 3 model: the real architecture, tokenizer and chat template with
deterministic random weights (the same options always give the same bytes). It is for tests and
demos; its output is meaningless.

  --shape   tiny (4 layers, hidden 256), tiny-alt (3 layers, hidden 512, untied, no GQA),
            1b (Llama 3.2 1B), 3b (Llama 3.2 3B)
  --type    tensor type (default q8_0); q4_0 and q4_k_m use llama.cpp's quantization mixes
  --seed    random seed, a non-negative integer (default ${DEFAULT_MODEL_SEED})
  --out     output file (written atomically)
`;

export async function run(argv: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const args = parseCommandArgs(argv, {
      shape: { type: "string" },
      type: { type: "string" },
      seed: { type: "string" },
      out: { type: "string", short: "o" },
    });
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const shape = choiceOption(requireOption(args.shape, "shape"), "shape", SHAPE_NAMES);
    const type = choiceOption(args.type, "type", MODEL_FILE_TYPES) ?? "q8_0";
    const seed = integerOption(args.seed, "seed", 0) ?? DEFAULT_MODEL_SEED;
    const out = requireOption(args.out, "out");

    const bar = progressBar(`make-model ${shape} ${type}`);
    const result = await makeModel({
      shape,
      type,
      seed,
      out,
      onProgress: (written, total) =>
        bar.update(written / total, `${formatBytes(written)} of ${formatBytes(total)}`),
    });
    bar.done();
    process.stdout.write(
      `${result.path}: ${formatBytes(result.bytes)}, ${result.tensorCount} tensors, ${(result.elapsedMs / 1000).toFixed(1)} s\n`,
    );
    return 0;
  });
}
