/**
 * The models this backend serves, loaded from the configuration one after another at start-up
 * (the HTTP server answers /health with 503 meanwhile), their router, and the serving state that
 * /health reports: loading → ready → draining.
 */
import { serverOverloaded } from "@gearbox/shared";
import type { Config } from "../config/load-config.js";
import type { Engine } from "../engine/engine.js";
import type { GearboxMetrics } from "../metrics/metrics.js";
import { CoreArbiter } from "../scheduler/core-arbiter.js";
import { loadServedModel } from "./load-model.js";
import { ModelRouter } from "./model-router.js";
import type { ServedModel } from "./served-model.js";

export type ServingState = "loading" | "ready" | "draining";

/** Progress of the whole start-up: which model, and how far its load and warm-up are. */
export type LoadProgress = (
  model: { id: string; index: number; count: number },
  fraction: number,
  label: string,
) => void;

export class ModelRegistry {
  state: ServingState = "loading";
  private served: ServedModel[] = [];
  private router: ModelRouter<ServedModel> | undefined;
  private readonly arbiter = new CoreArbiter();

  constructor(
    private readonly config: Config,
    private readonly engine: Engine,
    private readonly metrics: GearboxMetrics,
    private readonly onEngineError: (error: unknown) => void = () => {},
  ) {}

  get models(): readonly ServedModel[] {
    return this.served;
  }

  /** Names clients may send in `model` (ids, aliases, "auto"); empty while loading. */
  get names(): string[] {
    return this.router?.names ?? [];
  }

  /** Requests running and waiting over all models (what the edge balances on). */
  get activity(): { running: number; waiting: number } {
    let running = 0;
    let waiting = 0;
    for (const m of this.served) {
      running += m.scheduler.runningRequests;
      waiting += m.scheduler.waitingRequests;
    }
    return { running, waiting };
  }

  async load(onProgress?: LoadProgress): Promise<void> {
    const entries = this.config.models;
    for (const [index, entry] of entries.entries()) {
      const model = await loadServedModel(entry, this.config, {
        engine: this.engine,
        arbiter: this.arbiter,
        metrics: this.metrics.forModel(entry.id),
        onEngineError: this.onEngineError,
        ...(onProgress
          ? {
              onProgress: (f: number, label: string) =>
                onProgress({ id: entry.id, index, count: entries.length }, f, label),
            }
          : {}),
      });
      this.served.push(model);
      this.metrics.watch(model);
    }
    this.router = new ModelRouter(this.served, {
      auto: this.config.router.auto,
      defaultModel: this.config.router.default ?? (entries[0]?.id as string),
    });
    this.state = "ready";
  }

  /** The model for a request (see ModelRouter); 503 while not ready. */
  resolve(requested: string, conversation: () => string, allowed?: readonly string[]): ServedModel {
    if (!this.router || this.state !== "ready") throw this.notReady();
    return this.router.route(requested, conversation, allowed);
  }

  /** The 503 for requests arriving while loading or shutting down. */
  notReady() {
    return this.state === "draining"
      ? serverOverloaded(5, "The server is shutting down.")
      : serverOverloaded(5, "The server is still loading its models. Please retry shortly.");
  }

  /** Stops taking requests and waits (up to `graceMs`) for those running to finish. */
  async drain(graceMs: number): Promise<void> {
    this.state = "draining";
    const idle = Promise.all(this.served.map((m) => m.scheduler.whenIdle()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([idle, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }

  /** Ends whatever still runs (with a 503 error) and frees the models. */
  async close(): Promise<void> {
    this.state = "draining";
    const error = serverOverloaded(5, "The server is shutting down.");
    await Promise.all(this.served.map((m) => m.scheduler.close(error)));
    await Promise.all(this.served.map((m) => m.engine.close()));
    for (const m of this.served) m.tokenizer.dispose();
  }
}
