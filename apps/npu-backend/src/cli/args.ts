/**
 * Argument parsing shared by the subcommands: node:util parseArgs in strict mode, with errors that
 * name the option and point at --help.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

/** A mistake in the command line: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;
type WithHelp<T extends Options> = T & { help: { type: "boolean"; short: "h" } };
export type ParsedOptions<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: WithHelp<T>; strict: true; allowPositionals: false }>
>["values"];

/** Parses `argv` against `options` (always including --help); unknown options and positionals are errors. */
export function parseCommandArgs<T extends Options>(argv: string[], options: T): ParsedOptions<T> {
  const withHelp: WithHelp<T> = { ...options, help: { type: "boolean", short: "h" } };
  try {
    return parseArgs({ args: argv, options: withHelp, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export function requireOption(value: string | undefined, name: string): string {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

/** An integer option within [min, max]; undefined when absent. */
export function integerOption(
  value: string | undefined,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

/** One of a fixed set of values; undefined when absent. */
export function choiceOption<C extends string>(value: string, name: string, choices: readonly C[]): C;
export function choiceOption<C extends string>(
  value: string | undefined,
  name: string,
  choices: readonly C[],
): C | undefined;
export function choiceOption<C extends string>(
  value: string | undefined,
  name: string,
  choices: readonly C[],
): C | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got '${value}'`);
  }
  return value as C;
}

/** Runs a subcommand body: usage errors print the usage and return 2. */
export async function runCommand(usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`gearbox: ${err.message}\n\n${usage}`);
      return 2;
    }
    throw err;
  }
}

/** Sizes for humans in decimal units ("1.32 GB"), as file managers show them. */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(2)} ${units[unit]}`;
}
