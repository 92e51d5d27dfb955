/**
 * Turns a request body that fails its schema into one 400 `invalid_request_error` whose `param` is
 * the path of the offending field (`messages[0].role`) and whose message says what was expected and
 * what was sent, the way OpenAI phrases it.
 */
import type { z } from "zod";
import { type ApiError, invalidJson, invalidRequest } from "./errors.js";

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** Parses a request body with its wire schema; throws a 400 ApiError naming the first bad field. */
export function parseRequest<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  const result = schema.safeParse(body, { error: describeIssue, reportInput: true });
  if (!result.success) throw invalidRequestFromZod(result.error);
  return result.data;
}

/** Parses JSON text (a request body) into a value; throws a 400 ApiError when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidJson(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Top-level fields of a parsed loose object that its schema does not declare (vendor extras an SDK
 * passed through). The backend decides which of them to reject.
 */
export function unknownFields(schema: z.ZodObject, value: Record<string, unknown>): string[] {
  return Object.keys(value).filter((key) => !(key in schema.shape));
}

/** The 400 for a ZodError: the most specific issue, its field path as `param`. */
export function invalidRequestFromZod(error: z.ZodError): ApiError {
  const first = error.issues[0];
  if (!first) return invalidRequest("The request body is invalid.");
  const { issue, path } = mostSpecific(first, first.path);
  const param = formatPath(path);
  if (!param) return invalidRequest(`Invalid request body: ${issue.message}.`);
  if (
    "input" in issue &&
    issue.input === undefined &&
    (issue.code === "invalid_type" || issue.code === "invalid_union")
  ) {
    return invalidRequest(`Missing required parameter: '${param}'.`, param);
  }
  return invalidRequest(`Invalid parameter '${param}': ${issue.message}.`, param);
}

/** `["messages", 0, "role"]` → `messages[0].role`. */
export function formatPath(path: Path): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][\w]*$/.test(key)) text += text ? `.${key}` : key;
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text;
}

/**
 * A union reports one list of issues per branch. The branch that got past the type check (e.g. the
 * array branch of `stop` when an array was sent) says what is really wrong, so descend into it.
 */
function mostSpecific(issue: Issue, path: Path): { issue: Issue; path: Path } {
  if (issue.code === "invalid_key") {
    const inner = issue.issues[0];
    return inner ? { issue: inner, path } : { issue, path };
  }
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return { issue, path };
  const typeMatched = issue.errors.find(
    (branch) => !branch.every((i) => i.code === "invalid_type" && i.path.length === 0),
  );
  const inner = typeMatched?.[0];
  if (!inner) return { issue, path };
  return mostSpecific(inner, [...path, ...inner.path]);
}

/** Zod error map: the detail of each issue in our words (schema-level messages still win). */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  const input = issue.input;
  switch (issue.code) {
    case "invalid_type":
      return `expected ${article(issue.expected)}, got ${describeValue(input)}`;
    case "invalid_value":
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}, got ${describeValue(input)}`;
    case "invalid_union": {
      const discriminator = "discriminator" in issue ? issue.discriminator : undefined;
      const options = "options" in issue && Array.isArray(issue.options) ? issue.options : undefined;
      if (typeof discriminator === "string" && options) {
        const value = isRecord(input) ? input[discriminator] : undefined;
        return `expected one of ${options.map((o) => JSON.stringify(o)).join(", ")}, got ${describeValue(value)}`;
      }
      if (issue.errors.length > 0 && issue.errors.every((b) => b.every((i) => i.code === "invalid_type"))) {
        const expected = issue.errors.flatMap((b) =>
          b.flatMap((i) => (i.code === "invalid_type" ? [i.expected] : [])),
        );
        return `expected ${[...new Set(expected)].map(article).join(" or ")}, got ${describeValue(input)}`;
      }
      return undefined;
    }
    case "too_big":
      return bound("at most", "<=", "<", issue.maximum, issue.inclusive, issue.origin);
    case "too_small":
      return bound("at least", ">=", ">", issue.minimum, issue.inclusive, issue.origin);
    case "invalid_format":
      return `must be a valid ${issue.format}`;
    case "unrecognized_keys":
      return `unknown keys ${issue.keys.join(", ")}`;
    default:
      return undefined;
  }
}

function bound(
  countWord: string,
  inclusiveOp: string,
  exclusiveOp: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
  origin: string,
): string {
  if (origin === "array" || origin === "set")
    return `must have ${countWord} ${limit} item${limit === 1 ? "" : "s"}`;
  if (origin === "string") return `must be ${countWord} ${limit} character${limit === 1 ? "" : "s"} long`;
  return `must be ${inclusive === false ? exclusiveOp : inclusiveOp} ${limit}`;
}

function article(expected: string): string {
  switch (expected) {
    case "int":
      return "an integer";
    case "array":
    case "object":
      return `an ${expected}`;
    case "record":
      return "an object";
    default:
      return `a ${expected}`;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string")
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "number")
    return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
