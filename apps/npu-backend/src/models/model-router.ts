/**
 * Which served model answers a request: its id or an alias, or — for "auto" when the router is
 * on — the model for the conversation's language (Chinese to a model listing "zh", anything else
 * to one listing "en", the default model when none lists it).
 */
import { modelNotFound } from "@gearbox/shared";
import { detectLanguage } from "./language.js";

export const AUTO_MODEL = "auto";

export interface RoutableModel {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly languages: readonly string[];
}

export interface RouterSettings {
  auto: boolean;
  /** Id of the model "auto" falls back to. */
  defaultModel: string;
}

export class ModelRouter<M extends RoutableModel> {
  private readonly byName = new Map<string, M>();

  constructor(
    private readonly models: readonly M[],
    private readonly settings: RouterSettings,
  ) {
    for (const model of models) {
      this.byName.set(model.id, model);
      for (const alias of model.aliases) this.byName.set(alias, model);
    }
  }

  /** Names clients may send: ids, aliases and "auto" when the router is on. */
  get names(): string[] {
    return [...this.byName.keys(), ...(this.settings.auto ? [AUTO_MODEL] : [])];
  }

  /**
   * The model for `requested`; `conversation` is the text "auto" decides on (read lazily, only
   * for "auto"). `allowed` (names: ids or aliases) limits what "auto" may pick: the caller's key
   * reaches only those models. Throws 404 model_not_found for a name nobody serves, or for "auto"
   * when no allowed model is served.
   */
  route(requested: string, conversation: () => string, allowed?: readonly string[]): M {
    const named = this.byName.get(requested);
    if (named) return named;
    if (requested !== AUTO_MODEL || !this.settings.auto) throw modelNotFound(requested);
    const candidates =
      allowed === undefined
        ? this.models
        : this.models.filter((m) => allowed.includes(m.id) || m.aliases.some((a) => allowed.includes(a)));
    if (candidates.length === 0) {
      throw modelNotFound(requested, "None of the models this key may use is served here.");
    }
    const language = detectLanguage(conversation());
    const preferred = this.byName.get(this.settings.defaultModel);
    const fallback = preferred && candidates.includes(preferred) ? preferred : (candidates[0] as M);
    return candidates.find((m) => m.languages.includes(language)) ?? fallback;
  }
}
