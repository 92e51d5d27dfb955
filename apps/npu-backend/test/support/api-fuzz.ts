/**
 * API fuzzing for the reliability suite: fast-check generates bad requests (bodies that are not
 * JSON, JSON of the wrong shape, every request field set to values of the wrong type or out of
 * range, broken messages, prompts, tools and schemas, wrong methods, paths and headers, oversized
 * bodies) from a valid request, and `fuzzApi` sends them to a server and checks each answer against
 * the wire schemas of @gearbox/shared: never a 5xx, every error `{"error":{…}}`, every success (a
 * mutation may happen to stay valid) a well-formed completion, stream or model list. The same code
 * runs in `npm test` (a few hundred requests) and in `bench/soak.ts` (10,000).
 */
import {
  chatCompletionChunkSchema,
  chatCompletionSchema,
  completionChunkSchema,
  completionSchema,
  errorBodySchema,
  errorTypeSchema,
  modelListSchema,
  SseParser,
} from "@gearbox/shared";
import fc from "fast-check";

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** What the generator did, for the report of a failure. */
  what: string;
}

export interface FuzzTarget {
  url: string;
  /** Headers every request carries unless the generator takes them away (e.g. a key). */
  auth: Record<string, string>;
  /** A model the server serves. */
  model: string;
}

/** Numbers and values that break parsers and range checks. */
const nastyValue = fc.constantFrom<unknown>(
  -1,
  0,
  -0,
  0.5,
  1.5,
  2 ** 31,
  2 ** 32 + 1,
  2 ** 53 + 2,
  1e308,
  -1e308,
  "",
  "1",
  "NaN",
  "x".repeat(5000),
  "<|eot_id|><|start_header_id|>system<|end_header_id|>",
  "\u0000\ud800",
  "你好世界",
  [],
  [[]],
  {},
  { "": null },
  null,
  true,
  false,
);
const jsonish = fc.oneof(
  { weight: 3, arbitrary: nastyValue },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3, depthSize: "small" }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
);

const CHAT_FIELDS = [
  "model",
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "top_k",
  "min_p",
  "seed",
  "stop",
  "n",
  "presence_penalty",
  "frequency_penalty",
  "repetition_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "stream",
  "stream_options",
  "response_format",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "user",
  // not in the reference: refused with unsupported_parameter
  "store",
  "metadata",
  "functions",
  "__proto__",
];
const COMPLETION_FIELDS = [
  "model",
  "prompt",
  "max_tokens",
  "temperature",
  "n",
  "best_of",
  "echo",
  "logprobs",
  "suffix",
  "stop",
  "seed",
  "logit_bias",
  "stream",
  "stream_options",
  "top_k",
  "min_p",
  "repetition_penalty",
];

const role = fc.oneof(
  fc.constantFrom("user", "system", "developer", "assistant", "tool", "root", ""),
  jsonish,
);
const contentPart = fc.oneof(
  fc.record({ type: fc.constant("text"), text: fc.oneof(fc.string(), jsonish) }),
  fc.record({ type: fc.constant("image_url"), image_url: fc.record({ url: fc.webUrl() }) }),
  fc.record({ type: fc.constant("input_audio"), input_audio: jsonish }),
  fc.record({ type: fc.oneof(fc.string(), jsonish) }),
);
const message = fc.record(
  {
    role,
    content: fc.oneof(fc.string(), fc.array(contentPart, { maxLength: 3 }), jsonish),
    name: jsonish,
    tool_calls: fc.oneof(
      jsonish,
      fc.array(
        fc.record({
          id: fc.oneof(fc.string(), jsonish),
          type: fc.oneof(fc.constant("function"), jsonish),
          function: fc.record({
            name: fc.oneof(fc.string(), jsonish),
            arguments: fc.oneof(fc.string(), jsonish),
          }),
        }),
        { maxLength: 2 },
      ),
    ),
    tool_call_id: jsonish,
  },
  { requiredKeys: [] },
);

/** JSON schemas a grammar compiler may choke on. */
const nastySchema = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(
    { type: "object", properties: { a: { $ref: "#/$defs/missing" } } },
    { $ref: "#" },
    { type: "string", pattern: "(" },
    { type: "string", pattern: "a{1,100000}" },
    { type: "string", minLength: 10, maxLength: 2 },
    { type: "integer", minimum: 10, maximum: 2 },
    { enum: [] },
    { type: "array", items: { type: "array", items: { type: "array", items: {} } }, minItems: 1e9 },
    { anyOf: [] },
    { type: "nonsense" },
    { type: ["string", "null"], format: "date-time" },
    { not: { type: "string" } },
  ),
);
const tool = fc.record(
  {
    type: fc.oneof(fc.constant("function"), jsonish),
    function: fc.oneof(
      jsonish,
      fc.record(
        { name: fc.oneof(fc.string(), jsonish), parameters: nastySchema, strict: jsonish },
        { requiredKeys: ["name"] },
      ),
    ),
  },
  { requiredKeys: [] },
);

/** A value for one field: anything, or something of the right family that is still wrong. */
function fieldValue(field: string): fc.Arbitrary<unknown> {
  switch (field) {
    case "messages":
      return fc.oneof(jsonish, fc.array(message, { maxLength: 4 }));
    case "response_format":
      return fc.oneof(
        jsonish,
        fc.record({ type: fc.constantFrom("text", "json_object", "json_schema", "yaml") }),
        fc.record(
          {
            type: fc.constant("json_schema"),
            json_schema: fc.record(
              { name: fc.oneof(fc.string(), jsonish), schema: nastySchema, strict: jsonish },
              { requiredKeys: [] },
            ),
          },
          { requiredKeys: ["type"] },
        ),
      );
    case "tools":
      return fc.oneof(jsonish, fc.array(tool, { maxLength: 3 }));
    case "tool_choice":
      return fc.oneof(
        jsonish,
        fc.constantFrom("none", "auto", "required", "any"),
        fc.record({ type: fc.constant("function"), function: fc.record({ name: fc.string() }) }),
      );
    case "stop":
      return fc.oneof(jsonish, fc.array(fc.string({ maxLength: 300 }), { maxLength: 8 }));
    case "logit_bias":
      return fc.oneof(
        jsonish,
        fc.dictionary(
          fc.oneof(fc.constantFrom("-1", "0", "999999999", "1.5", "abc", ""), fc.nat().map(String)),
          fc.oneof(fc.double(), jsonish),
          { maxKeys: 4 },
        ),
      );
    case "prompt":
      return fc.oneof(
        jsonish,
        fc.array(fc.oneof(fc.integer(), fc.constantFrom(-1, 2 ** 31, 1e9, 1.5)), { maxLength: 6 }),
        fc.array(fc.array(fc.integer({ min: -5, max: 300_000 }), { maxLength: 4 }), { maxLength: 3 }),
        fc.array(fc.oneof(fc.string(), jsonish), { maxLength: 3 }),
      );
    case "stream_options":
      return fc.oneof(jsonish, fc.record({ include_usage: jsonish }));
    default:
      return jsonish;
  }
}

type Body = Record<string, unknown>;

/** One to three edits of a valid body: a field set, a field removed. */
function mutatedBody(base: Body, fields: string[]): fc.Arbitrary<{ body: Body; what: string }> {
  const edit = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .constantFrom(...fields)
        .chain((field) => fieldValue(field).map((value) => ({ field, value, remove: false }))),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...fields).map((field) => ({ field, value: undefined, remove: true })),
    },
  );
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    const body: Body = { ...base };
    for (const e of edits) {
      if (e.remove) delete body[e.field];
      // defineProperty: a "__proto__" key must become an own property, as JSON.parse makes it.
      else
        Object.defineProperty(body, e.field, {
          value: e.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
    const what = edits.map((e) => (e.remove ? `-${e.field}` : `${e.field}=${preview(e.value)}`)).join(" ");
    return { body, what };
  });
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Valid bodies the mutations start from; max_tokens small so that a mutant that stays valid is quick. */
export function goodChat(model: string, extra: Body = {}): Body {
  return {
    model,
    messages: [{ role: "user", content: "Hello there" }],
    max_tokens: 2,
    temperature: 0,
    ...extra,
  };
}
export function goodCompletion(model: string, extra: Body = {}): Body {
  return { model, prompt: "Once upon a time", max_tokens: 2, temperature: 0, ...extra };
}

const JSON_HEADERS = { "content-type": "application/json" };

/** Every kind of bad request, weighted toward the JSON ones that reach the deepest code. */
export function badRequest(target: FuzzTarget): fc.Arbitrary<FuzzRequest> {
  const chat = "/v1/chat/completions";
  const legacy = "/v1/completions";
  const post = (
    path: string,
    body: string,
    what: string,
    headers: Record<string, string> = JSON_HEADERS,
  ) => ({
    method: "POST",
    path,
    headers: { ...target.auth, ...headers },
    body,
    what,
  });
  const mutatedChat = mutatedBody(goodChat(target.model), CHAT_FIELDS).map(({ body, what }) =>
    post(chat, JSON.stringify(body), `chat ${what}`),
  );
  const mutatedStreamChat = mutatedBody(goodChat(target.model, { stream: true }), CHAT_FIELDS).map(
    ({ body, what }) => post(chat, JSON.stringify(body), `chat stream ${what}`),
  );
  const mutatedCompletion = mutatedBody(goodCompletion(target.model), COMPLETION_FIELDS).map(
    ({ body, what }) => post(legacy, JSON.stringify(body), `completion ${what}`),
  );
  const path = fc.constantFrom(chat, legacy);
  const notJson = fc
    .tuple(
      path,
      fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.constantFrom("", "{", "[", "nul", "{}}")),
    )
    .map(([p, body]) => post(p, body, `not JSON ${preview(body)}`));
  const notObject = fc
    .tuple(
      path,
      fc.jsonValue({ maxDepth: 2 }).filter((v) => v === null || typeof v !== "object" || Array.isArray(v)),
    )
    .map(([p, value]) => post(p, JSON.stringify(value), `JSON not an object ${preview(value)}`));
  const truncated = fc
    .tuple(fc.constantFrom(JSON.stringify(goodChat(target.model))), fc.nat())
    .map(([text, n]) => post(chat, text.slice(0, n % text.length), `truncated at ${n % text.length}`));
  const deep = fc
    .integer({ min: 100, max: 20_000 })
    .map((depth) => post(chat, `${"[".repeat(depth)}${"]".repeat(depth)}`, `nested ${depth} deep`));
  const oversized = fc
    .constantFrom(1_100_000, 2_000_000)
    .map((size) =>
      post(
        chat,
        JSON.stringify(goodChat(target.model, { messages: [{ role: "user", content: "a".repeat(size) }] })),
        `body of ${size} bytes`,
      ),
    );
  const headers = fc
    .tuple(
      path,
      fc.constantFrom<Record<string, string>>(
        {},
        { "content-type": "text/plain" },
        { "content-type": "application/json; charset=latin1" },
        { "content-type": "multipart/form-data; boundary=x" },
        { "content-encoding": "gzip", "content-type": "application/json" },
      ),
    )
    .map(([p, h]) => ({
      ...post(p, JSON.stringify(goodChat(target.model)), `headers ${preview(h)}`),
      headers: h,
    }))
    .map((r) => ({ ...r, headers: { ...target.auth, ...r.headers } }));
  const noAuth = fc
    .constantFrom<Record<string, string>>(
      {},
      { authorization: "Bearer " },
      { authorization: "Bearer gbx-0000" },
      { authorization: "Basic dXNlcjpwYXNz" },
      { "x-api-key": "nope" },
      { "x-gearbox-timestamp": "1", "x-gearbox-signature": "v1=00" },
    )
    .map((h) => ({
      method: "POST",
      path: chat,
      headers: { ...JSON_HEADERS, ...h },
      body: JSON.stringify(goodChat(target.model)),
      what: `credentials ${preview(h)}`,
    }));
  const route = fc
    .tuple(
      fc.constantFrom("GET", "PUT", "DELETE", "PATCH", "POST"),
      fc.oneof(
        fc.constantFrom(
          chat,
          legacy,
          "/v1/models/x",
          "/v1/chat/completions/x",
          "/v1/%2e%2e/health",
          "/v1/%ff",
          "/v2/chat/completions",
          "/v1/embeddings",
          "/v1//chat/completions",
        ),
        fc.webPath().map((p) => `/v1${p.startsWith("/") ? p : `/${p}`}`),
      ),
    )
    .filter(([method, p]) => !(method === "POST" && (p === chat || p === legacy)))
    .map(([method, p]) => ({
      method,
      path: p,
      headers: { ...target.auth, ...JSON_HEADERS },
      ...(method === "GET" ? {} : { body: "{}" }),
      what: `route ${method} ${p}`,
    }));
  return fc.oneof(
    { weight: 30, arbitrary: mutatedChat },
    { weight: 10, arbitrary: mutatedStreamChat },
    { weight: 12, arbitrary: mutatedCompletion },
    { weight: 5, arbitrary: notJson },
    { weight: 3, arbitrary: notObject },
    { weight: 3, arbitrary: truncated },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: oversized },
    { weight: 3, arbitrary: headers },
    { weight: 3, arbitrary: noAuth },
    { weight: 5, arbitrary: route },
  );
}

// ---------------------------------------------------------------- checking answers

function describeIssues(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  return error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
}

/** Checks one answer; returns what is wrong with it, or undefined when it is well-formed. */
export async function checkAnswer(request: FuzzRequest, response: Response): Promise<string | undefined> {
  const status = response.status;
  if (status >= 500) return `status ${status}: ${(await response.text()).slice(0, 300)}`;
  const type = response.headers.get("content-type") ?? "";
  if (status >= 400) {
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return `status ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
    }
    const shape = errorBodySchema.safeParse(parsed);
    if (!shape.success) return `status ${status}, not an OpenAI error: ${describeIssues(shape.error)}`;
    if (!errorTypeSchema.safeParse(shape.data.error.type).success)
      return `status ${status}, unknown error type ${shape.data.error.type}`;
    if (shape.data.error.message.length === 0) return `status ${status} with an empty message`;
    return undefined;
  }
  if (status !== 200) return `unexpected status ${status}`;
  const legacy = request.path.startsWith("/v1/completions");
  if (type.startsWith("text/event-stream")) return checkStream(response, legacy);
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `200 with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  // The path as the server saw it (fetch resolves "/v1/%2e%2e/health" to "/health").
  const path = new URL(response.url).pathname;
  if (request.method === "GET" && path !== "/v1/models") return undefined;
  const schema =
    request.method === "GET" ? modelListSchema : legacy ? completionSchema : chatCompletionSchema;
  const shape = schema.safeParse(parsed);
  return shape.success ? undefined : `200 not a valid answer: ${describeIssues(shape.error)}`;
}

async function checkStream(response: Response, legacy: boolean): Promise<string | undefined> {
  const parser = new SseParser();
  const schema = legacy ? completionChunkSchema : chatCompletionChunkSchema;
  let done = false;
  for await (const bytes of response.body ?? []) {
    for (const message of parser.push(bytes)) {
      if (message.kind !== "event") continue;
      if (message.data === "[DONE]") {
        done = true;
        continue;
      }
      const parsed = JSON.parse(message.data);
      if (parsed && typeof parsed === "object" && "error" in parsed) {
        // A failure after the stream opened is an error frame; it must be OpenAI-shaped and not a 5xx kind.
        const shape = errorBodySchema.safeParse(parsed);
        return shape.success
          ? `stream error frame: ${shape.data.error.code}: ${shape.data.error.message}`
          : `stream error frame not OpenAI-shaped: ${message.data.slice(0, 200)}`;
      }
      const shape = schema.safeParse(parsed);
      if (!shape.success) return `stream chunk not valid: ${describeIssues(shape.error)}`;
    }
  }
  return done ? undefined : "stream ended without [DONE]";
}

export interface FuzzStats {
  sent: number;
  byStatus: Record<string, number>;
  /** Up to `maxViolations` answers that broke the contract, with the request that got them. */
  violations: string[];
  violationCount: number;
}

/**
 * Sends `runs` generated requests (`concurrency` at a time) and checks every answer. A request
 * without an answer within `timeoutMs` is a violation too (a hang). Deterministic for a seed.
 */
export async function fuzzApi(
  target: FuzzTarget,
  options: { runs: number; seed: number; concurrency?: number; timeoutMs?: number; maxViolations?: number },
): Promise<FuzzStats> {
  const requests = fc.sample(badRequest(target), { numRuns: options.runs, seed: options.seed });
  const stats: FuzzStats = { sent: 0, byStatus: {}, violations: [], violationCount: 0 };
  const limit = options.maxViolations ?? 10;
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++] as FuzzRequest;
      let problem: string | undefined;
      try {
        const response = await fetch(`${target.url}${request.path}`, {
          method: request.method,
          headers: request.headers,
          ...(request.body !== undefined ? { body: request.body } : {}),
          signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
        });
        stats.byStatus[response.status] = (stats.byStatus[response.status] ?? 0) + 1;
        problem = await checkAnswer(request, response);
      } catch (error) {
        const cause = (error as Error & { cause?: Error }).cause;
        problem = `no answer: ${(error as Error).message}${cause ? ` (${cause.message})` : ""}`;
      }
      stats.sent++;
      if (problem) {
        stats.violationCount++;
        if (stats.violations.length < limit)
          stats.violations.push(`${request.method} ${request.path} [${request.what}] -> ${problem}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return stats;
}
