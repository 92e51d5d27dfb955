// The child of the GGUF fuzz (gguf-fuzz.ts): reads one file path per line on stdin, loads it with
// the TypeScript header reader and with the native engine (and, when the engine takes it, runs one
// step on it), and answers one JSON line per file: {"reader": "ok" | message, "engine": ...}.
// A crash here (a signal) is what the fuzz looks for; its parent restarts it and goes on.
import { createInterface } from "node:readline";
import { readGguf } from "@gearbox/gguf/reader";
import { nativeEngine } from "../../dist/engine/native-engine.js";

const SAMPLING = {
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logitBias: new Map(),
  seed: 0,
  topLogprobs: 0,
  logprobs: false,
};

const message = (error) =>
  error instanceof Error ? `${error.name}: ${error.message}` : `non-Error thrown: ${String(error)}`;

async function engineVerdict(path) {
  let model;
  try {
    model = await nativeEngine.loadModel(path, {
      threads: 1,
      contextLength: 64,
      kvCacheMiB: 1,
      gears: { prefill: [16], decodeBatch: [1], warm: "none", cacheDir: "" },
    });
  } catch (error) {
    return message(error);
  }
  try {
    const { seq } = await model.createSequence(SAMPLING);
    // Token 0 exists in any vocabulary a loaded file can have.
    await model.step([{ seq, tokens: [0, 0, 0], sample: true }]);
    return "ok";
  } catch (error) {
    return `loaded, then ${message(error)}`;
  } finally {
    await model.close();
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const path = line.trim();
  if (!path) continue;
  let reader = "ok";
  try {
    readGguf(path);
  } catch (error) {
    reader = message(error);
  }
  const engine = await engineVerdict(path);
  process.stdout.write(`${JSON.stringify({ reader, engine })}\n`);
}
