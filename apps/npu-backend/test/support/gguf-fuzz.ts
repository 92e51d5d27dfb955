/**
 * GGUF fuzzing for the reliability suite: fast-check mutates a valid micro model (support/
 * micro-model.ts) — the header (magic, version), the counts (tensors, metadata entries, string
 * lengths, array lengths, dimension counts), the types (metadata value and array item types,
 * tensor ggml types), the tensor dimensions and data offsets, metadata values, random header
 * bytes, tensor data, truncation and trailing garbage — and loads every file in a child process
 * (gguf-load-child.mjs) with the TypeScript reader and the native engine. A child that dies of a
 * signal or hangs is a crash; every rejection must be an Error whose message names the problem.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import { gv } from "@gearbox/gguf/values";
import { writeGguf } from "@gearbox/gguf/writer";
import fc from "fast-check";
import { baseMetadata, microTensors } from "./micro-model.js";

const CHILD = fileURLToPath(new URL("./gguf-load-child.mjs", import.meta.url));

type Category = "header" | "count" | "type" | "dim" | "offset" | "value";
interface Field {
  category: Category;
  name: string;
  at: number;
  size: 4 | 8;
}

/** The micro model with metadata arrays too (strings and i32s), so array fields can be mutated. */
export async function fuzzSeedFile(dir: string): Promise<Buffer> {
  const path = join(dir, "seed.gguf");
  const metadata = baseMetadata();
  metadata.set("general.name", gv.string("micro"));
  metadata.set("tokenizer.ggml.tokens", gv.strings(["a", "bb", "ccc", "dddd"]));
  metadata.set("tokenizer.ggml.token_type", gv.i32s(Int32Array.from([1, 1, 3, 6])));
  await writeGguf(path, metadata, microTensors());
  return readFile(path);
}

const SCALAR_SIZES: Record<number, number> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};

/** Every mutable field of a well-formed header, found by walking it. */
export function headerFields(bytes: Buffer): { fields: Field[]; headerEnd: number } {
  const fields: Field[] = [
    { category: "header", name: "magic", at: 0, size: 4 },
    { category: "header", name: "version", at: 4, size: 4 },
    { category: "count", name: "tensor count", at: 8, size: 8 },
    { category: "count", name: "metadata count", at: 16, size: 8 },
  ];
  let at = 24;
  const string = (what: string) => {
    fields.push({ category: "count", name: `${what} length`, at, size: 8 });
    at += 8 + Number(bytes.readBigUInt64LE(at));
  };
  const value = (type: number, what: string) => {
    if (type === 8) string(what);
    else if (type === 9) {
      fields.push({ category: "type", name: `${what} item type`, at, size: 4 });
      const item = bytes.readUInt32LE(at);
      fields.push({ category: "count", name: `${what} item count`, at: at + 4, size: 8 });
      const count = Number(bytes.readBigUInt64LE(at + 4));
      at += 12;
      for (let i = 0; i < count; i++) value(item, `${what}[${i}]`);
    } else {
      const size = SCALAR_SIZES[type] ?? 0;
      if (size >= 4) fields.push({ category: "value", name: `${what} value`, at, size: size as 4 | 8 });
      at += size;
    }
  };
  const kvCount = Number(bytes.readBigUInt64LE(16));
  for (let i = 0; i < kvCount; i++) {
    const keyLength = Number(bytes.readBigUInt64LE(at));
    const key = bytes.toString("utf8", at + 8, at + 8 + keyLength);
    string(`key '${key}'`);
    fields.push({ category: "type", name: `'${key}' value type`, at, size: 4 });
    const type = bytes.readUInt32LE(at);
    at += 4;
    value(type, `'${key}'`);
  }
  const tensorCount = Number(bytes.readBigUInt64LE(8));
  for (let i = 0; i < tensorCount; i++) {
    const nameLength = Number(bytes.readBigUInt64LE(at));
    const name = bytes.toString("utf8", at + 8, at + 8 + nameLength);
    string(`tensor '${name}' name`);
    fields.push({ category: "count", name: `'${name}' dimension count`, at, size: 4 });
    const dims = bytes.readUInt32LE(at);
    at += 4;
    for (let d = 0; d < dims; d++) {
      fields.push({ category: "dim", name: `'${name}' dim ${d}`, at, size: 8 });
      at += 8;
    }
    fields.push({ category: "type", name: `'${name}' ggml type`, at, size: 4 });
    fields.push({ category: "offset", name: `'${name}' offset`, at: at + 4, size: 8 });
    at += 12;
  }
  return { fields, headerEnd: at };
}

export interface Mutant {
  bytes: Buffer;
  what: string;
}

const BOUNDARY_U32 = [
  0, 1, 2, 3, 7, 8, 9, 12, 13, 30, 31, 255, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];
const BOUNDARY_U64 = [
  0n,
  1n,
  2n,
  31n,
  32n,
  33n,
  1n << 31n,
  1n << 32n,
  1n << 40n,
  1n << 62n,
  1n << 63n,
  (1n << 64n) - 1n,
];

function writeField(bytes: Buffer, field: Field, value: bigint): void {
  if (field.size === 4) bytes.writeUInt32LE(Number(value & 0xffffffffn), field.at);
  else bytes.writeBigUInt64LE(value & ((1n << 64n) - 1n), field.at);
}

/** The mutations of one seed file. */
export function mutants(seed: Buffer): fc.Arbitrary<Mutant> {
  const { fields, headerEnd } = headerFields(seed);
  const ofCategory = (category: Category) => fields.filter((f) => f.category === category);
  const fieldValue = (field: Field) => {
    const original = field.size === 4 ? BigInt(seed.readUInt32LE(field.at)) : seed.readBigUInt64LE(field.at);
    return fc.oneof(
      fc.constantFrom(...(field.size === 4 ? BOUNDARY_U32.map(BigInt) : BOUNDARY_U64)),
      fc.integer({ min: -40, max: 40 }).map((d) => original + BigInt(d)),
      field.size === 4 ? fc.nat().map(BigInt) : fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    );
  };
  const setField = (category: Category) =>
    fc.constantFrom(...ofCategory(category)).chain((field) =>
      fieldValue(field).map((value) => {
        const bytes = Buffer.from(seed);
        writeField(bytes, field, value);
        return { bytes, what: `${field.name} = ${value}` };
      }),
    );
  const truncate = fc.nat({ max: seed.length - 1 }).map((n) => ({
    bytes: Buffer.from(seed.subarray(0, n)),
    what: `truncated to ${n} of ${seed.length} bytes`,
  }));
  const flips = (from: number, to: number, where: string) =>
    fc
      .array(fc.tuple(fc.integer({ min: from, max: to - 1 }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 6,
      })
      .map((edits) => {
        const bytes = Buffer.from(seed);
        for (const [at, value] of edits) bytes[at] = value;
        return { bytes, what: `${where} bytes ${edits.map(([at, v]) => `${at}=${v}`).join(",")}` };
      });
  const garbage = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((tail) => ({
    bytes: Buffer.concat([seed, tail]),
    what: `${tail.length} bytes appended`,
  }));
  return fc.oneof(
    { weight: 2, arbitrary: setField("header") },
    { weight: 4, arbitrary: setField("count") },
    { weight: 4, arbitrary: setField("type") },
    { weight: 3, arbitrary: setField("dim") },
    { weight: 3, arbitrary: setField("offset") },
    { weight: 2, arbitrary: setField("value") },
    { weight: 3, arbitrary: truncate },
    { weight: 3, arbitrary: flips(0, headerEnd, "header") },
    { weight: 1, arbitrary: flips(headerEnd, seed.length, "data") },
    { weight: 1, arbitrary: garbage },
  );
}

/**
 * What a rejection must look like: an Error (not a bare value, not an internal C++ exception text)
 * whose message says what is wrong with the file in the loader's words.
 */
const NAMES_A_PROBLEM =
  /GGUF|magic|version|truncated|too small|past the end|count|length|type|dimension|shape|offset|aligned|alignment|tensor|metadata|key|string|array|architecture|missing|out of range|must be|impossible|absurd|block size|multiple|not supported|unsupported|invalid|expected|zero|exceeds|too large|too many|nest/i;
const INTERNAL =
  /std::|bad_alloc|basic_string|vector::|unknown exception|non-Error thrown|undefined|null|NaN/;

export function rejectionProblem(verdict: string): string | undefined {
  if (verdict === "ok") return undefined;
  const text = verdict.replace(/^loaded, then /, "");
  if (INTERNAL.test(text)) return "an internal error, not a rejection naming the problem";
  if (!NAMES_A_PROBLEM.test(text)) return "a rejection that does not name the problem";
  return undefined;
}

export interface GgufFuzzStats {
  files: number;
  /** Files the engine (and reader) accepted and ran a step on. */
  loaded: number;
  rejected: number;
  /** The first words of the engine's rejections, counted: what the loader checks. */
  reasons: Record<string, number>;
  crashes: string[];
  badRejections: string[];
}

interface ChildLink {
  child: ChildProcess;
  lines: Interface;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

function startChild(): ChildLink {
  const child = spawn(process.execPath, [CHILD], { stdio: ["pipe", "pipe", "pipe"] });
  child.stderr?.resume();
  const exit = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, lines: createInterface({ input: child.stdout as NodeJS.ReadableStream }), exit };
}

function reasonKey(verdict: string): string {
  return verdict
    .replace(/^(loaded, then )?\w*Error: /, "")
    .replace(/'[^']*'/g, "'…'")
    .replace(/0x[0-9a-f]+/gi, "0x…")
    .replace(/\d+/g, "N")
    .slice(0, 60);
}

export async function fuzzGguf(options: {
  runs: number;
  seed: number;
  timeoutMs?: number;
}): Promise<GgufFuzzStats> {
  const dir = await mkdtemp(join(tmpdir(), "gearbox-gguf-fuzz-"));
  const stats: GgufFuzzStats = {
    files: 0,
    loaded: 0,
    rejected: 0,
    reasons: {},
    crashes: [],
    badRejections: [],
  };
  let link = startChild();
  try {
    const seedFile = await fuzzSeedFile(dir);
    const cases = fc.sample(mutants(seedFile), { numRuns: options.runs, seed: options.seed });
    const path = join(dir, "mutant.gguf");
    let answers = link.lines[Symbol.asyncIterator]();
    for (const mutant of cases) {
      await writeFile(path, mutant.bytes);
      link.child.stdin?.write(`${path}\n`);
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        answers.next().then((r) => (r.done ? undefined : { line: r.value as string })),
        link.exit.then(([code, signal]) => ({ code, signal })),
        new Promise<"hang">((resolve) => {
          timer = setTimeout(() => resolve("hang"), options.timeoutMs ?? 20_000);
        }),
      ]);
      clearTimeout(timer);
      stats.files++;
      if (outcome && typeof outcome === "object" && "line" in outcome) {
        const { reader, engine } = JSON.parse(outcome.line) as { reader: string; engine: string };
        if (engine === "ok") stats.loaded++;
        else {
          stats.rejected++;
          const key = reasonKey(engine);
          stats.reasons[key] = (stats.reasons[key] ?? 0) + 1;
        }
        for (const [who, verdict] of [
          ["reader", reader],
          ["engine", engine],
        ] as const) {
          const problem = rejectionProblem(verdict);
          if (problem) stats.badRejections.push(`${mutant.what}: ${who}: ${problem}: ${verdict}`);
        }
        continue;
      }
      // A crash or a hang: note it with the mutation, start a fresh child and go on.
      const how = outcome === "hang" ? "hung" : `died (${JSON.stringify(outcome)})`;
      stats.crashes.push(`${mutant.what}: the loader ${how}`);
      link.child.kill("SIGKILL");
      await link.exit;
      link = startChild();
      answers = link.lines[Symbol.asyncIterator]();
    }
  } finally {
    link.child.stdin?.end();
    link.child.kill("SIGKILL");
    await link.exit;
    await rm(dir, { recursive: true, force: true });
  }
  return stats;
}
