/**
 * `response_format`, `tools`, `tool_choice` and `parallel_tool_calls` of a chat request, validated
 * once here and turned into what the route runs: the grammar that constrains the choices (if any),
 * the tools the chat template renders into the prompt, and how the answer is read back (tool calls
 * or text). Every refusal is a 400 naming the field.
 */
import { type ChatCompletionRequest, type FunctionTool, invalidRequest } from "@gearbox/shared";
import { Ajv } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { GrammarSpec, ToolSpec } from "../../grammar/grammar-spec.js";

export interface ToolCalling {
  /** auto: the answer is text or calls; required: calls (the grammar makes sure). */
  mode: "auto" | "required";
  names: ReadonlySet<string>;
}

export interface OutputPlan {
  grammar?: { spec: GrammarSpec; param: "response_format" | "tools" };
  /** Tools the chat template renders (OpenAI's objects, as given). */
  promptTools?: readonly FunctionTool[];
  toolCalling?: ToolCalling;
}

/** OpenAI's rule for function names. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Throws a 400 naming `param` when `schema` is not a JSON schema. */
function checkSchema(schema: Record<string, unknown>, param: string): void {
  // Checked against the draft it names (zod and Pydantic write 2020-12), draft-07 otherwise.
  const draft = typeof schema.$schema === "string" ? schema.$schema : "";
  const options = { strict: false, allErrors: false, validateFormats: false };
  const ajv = draft.includes("2020-12")
    ? new Ajv2020(options)
    : draft.includes("2019-09")
      ? new Ajv2019(options)
      : new Ajv(options);
  const known =
    draft === "" || draft.includes("2020-12") || draft.includes("2019-09") || draft.includes("draft-07");
  const checked = known ? schema : { ...schema, $schema: undefined };
  let problem: string | undefined;
  try {
    if (!ajv.validateSchema(checked)) problem = ajv.errorsText(ajv.errors, { dataVar: "schema" });
    else ajv.compile(checked);
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  if (problem !== undefined)
    throw invalidRequest(`Invalid parameter '${param}': not a valid JSON schema (${problem}).`, param);
}

function toolSpecs(tools: readonly FunctionTool[]): ToolSpec[] {
  const seen = new Set<string>();
  return tools.map((tool, i) => {
    const name = tool.function.name;
    if (!TOOL_NAME.test(name)) {
      throw invalidRequest(
        `Invalid parameter 'tools[${i}].function.name': '${name}' must be 1 to 64 letters, digits, '_' or '-'.`,
        `tools[${i}].function.name`,
      );
    }
    if (seen.has(name))
      throw invalidRequest(`Invalid parameter 'tools': the function '${name}' is defined twice.`, "tools");
    seen.add(name);
    const parameters = tool.function.parameters ?? { type: "object", properties: {} };
    const param = `tools[${i}].function.parameters`;
    checkSchema(parameters, param);
    if (parameters.type !== undefined && parameters.type !== "object") {
      throw invalidRequest(
        `Invalid parameter '${param}': the parameters of a function must be an object schema.`,
        param,
      );
    }
    return { name, parameters, strict: tool.function.strict === true };
  });
}

export function outputPlan(body: ChatCompletionRequest): OutputPlan {
  const tools = body.tools ?? [];
  const choice = body.tool_choice ?? (tools.length > 0 ? "auto" : "none");
  if (choice !== "none" && choice !== "auto" && tools.length === 0) {
    throw invalidRequest("Invalid parameter 'tool_choice': it requires 'tools'.", "tool_choice");
  }
  const specs = toolSpecs(tools);
  const format = body.response_format;
  const jsonFormat = format !== undefined && format !== null && format.type !== "text";
  if (choice !== "none" && tools.length > 0) {
    if (jsonFormat) {
      throw invalidRequest(
        "Invalid parameter 'response_format': a JSON response_format cannot be combined with tools; use tool_choice 'none' or leave response_format out.",
        "response_format",
      );
    }
    const parallel = body.parallel_tool_calls ?? true;
    const names = new Set(specs.map((s) => s.name));
    if (typeof choice === "object") {
      const named = specs.find((s) => s.name === choice.function.name);
      if (!named) {
        throw invalidRequest(
          `Invalid parameter 'tool_choice': no function named '${choice.function.name}' is in 'tools'.`,
          "tool_choice",
        );
      }
      return {
        grammar: {
          spec: { kind: "tool_calls", tools: [named], mode: "required", parallel: false },
          param: "tools",
        },
        promptTools: tools,
        toolCalling: { mode: "required", names },
      };
    }
    const mode = choice === "required" ? "required" : "auto";
    return {
      grammar: { spec: { kind: "tool_calls", tools: specs, mode, parallel }, param: "tools" },
      promptTools: tools,
      toolCalling: { mode, names },
    };
  }
  if (!jsonFormat) return {};
  if (format.type === "json_object")
    return { grammar: { spec: { kind: "json_object" }, param: "response_format" } };
  const schema = format.json_schema.schema;
  if (schema === undefined || schema === null)
    return { grammar: { spec: { kind: "json_object" }, param: "response_format" } };
  checkSchema(schema, "response_format.json_schema.schema");
  return {
    grammar: {
      spec: { kind: "json_schema", schema, strict: format.json_schema.strict === true },
      param: "response_format",
    },
  };
}
