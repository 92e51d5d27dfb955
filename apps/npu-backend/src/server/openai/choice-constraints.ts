/** The grammar of a request, compiled (or found in the model's cache), as one matcher per choice. */
import { invalidRequest } from "@gearbox/shared";
import { GrammarError } from "../../grammar/grammar-compiler.js";
import type { ServedModel } from "../../models/served-model.js";
import type { TokenConstraint } from "../../scheduler/generation.js";
import type { OutputPlan } from "./structured-output.js";

/** Throws a 400 naming `response_format` or `tools` when the grammar cannot be compiled. */
export async function choiceConstraints(
  model: ServedModel,
  grammar: NonNullable<OutputPlan["grammar"]>,
  n: number,
): Promise<TokenConstraint[]> {
  const made: TokenConstraint[] = [];
  try {
    for (let i = 0; i < n; i++) made.push(await model.grammars.constraint(grammar.spec));
    return made;
  } catch (error) {
    for (const c of made) c.dispose();
    if (error instanceof GrammarError) {
      throw invalidRequest(`Invalid parameter '${grammar.param}': ${error.message}.`, grammar.param);
    }
    throw error;
  }
}
