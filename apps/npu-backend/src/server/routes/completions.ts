/**
 * POST /v1/completions (the legacy text API): a prompt or a batch of prompts, `n` choices each
 * (choice index = prompt index * n + i), streamed (SSE) or as one JSON body.
 */
import {
  type CompletionLogprobs,
  completionRequestSchema,
  errorBody,
  type FinishReason,
  sseData,
  sseDone,
} from "@gearbox/shared";
import type { Context } from "hono";
import type { AppEnv } from "../app-env.js";
import { edgeDirectives, reportingUsage } from "../edge-directives.js";
import { eventStream } from "../event-stream.js";
import { Generation, type GenerationJob } from "../generation/generation.js";
import { onAbort } from "../on-abort.js";
import { responseHead, usage } from "../openai/common-fields.js";
import {
  checkCompletionRequest,
  completionPromptTokens,
  promptBatch,
  promptText,
} from "../openai/completion-request.js";
import {
  completion,
  completionTextChunk,
  completionUsageChunk,
  type FinishedCompletionChoice,
} from "../openai/completion-response.js";
import { appendCompletionLogprobs, completionLogprobs } from "../openai/logprobs.js";
import {
  checkChoiceCount,
  choiceSampling,
  completionBudget,
  stopStrings,
} from "../openai/request-settings.js";
import { readRequest } from "../read-body.js";
import type { CompletionRouteDeps } from "./completion-route-deps.js";

export function completionsRoute(deps: CompletionRouteDeps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const body = await readRequest(c, completionRequestSchema);
    checkCompletionRequest(body);
    const prompts = promptBatch(body.prompt);
    // Before any prompt is tokenized: the work a request may ask for is bounded.
    checkChoiceCount(body.n ?? 1, prompts.length, deps.limits.maxChoicesPerRequest);
    const stops = stopStrings(body.stop, deps.limits.maxStopLength);
    const directives = edgeDirectives(c);
    const model = deps.models.resolve(
      body.model,
      () => promptText(prompts, (tokens) => deps.models.models[0]?.tokenizer.decode(tokens) ?? ""),
      directives.allowedModels,
    );
    const promptTokens = completionPromptTokens(model, prompts);
    const n = body.n ?? 1;
    const topLogprobs = body.logprobs ?? undefined;
    const wantLogprobs = topLogprobs !== undefined;
    const jobs: GenerationJob[] = promptTokens.map((tokens, i) => ({
      promptTokens: tokens,
      firstChoice: i * n,
      maxNewTokens: completionBudget(
        body.max_tokens,
        tokens.length,
        model.contextLength,
        deps.limits.maxTokensDefault,
        directives.maxTokens,
      ),
      sampling: choiceSampling(body, model.engine.info.vocabSize, {
        logprobs: wantLogprobs,
        topLogprobs: topLogprobs ?? 0,
      }),
    }));
    const generation = new Generation(model, jobs, {
      stops,
      deadline: performance.now() + deps.limits.requestTimeoutSeconds * 1000,
    });
    const promptTotal = promptTokens.reduce((sum, t) => sum + t.length, 0);
    const choiceCount = prompts.length * n;
    // echo: each choice's text starts with its prompt.
    const echo = (choice: number): string => {
      if (!body.echo) return "";
      const prompt = prompts[Math.floor(choice / n)] as string | number[];
      return typeof prompt === "string" ? prompt : model.tokenizer.decode(prompt);
    };
    /** Characters of each choice's text so far (text_offset of logprobs). */
    const offsets = Array.from({ length: choiceCount }, (_, i) => echo(i).length);
    const head = responseHead("cmpl", model.id);
    const log = c.var.log.child({ model: model.id, completion_id: head.id });
    if (deps.logPrompts) log.debug({ prompt: body.prompt }, "prompt");
    c.header("x-gearbox-model", model.id);
    const logprobsOf = (choice: number, text: string, tokens: Parameters<typeof completionLogprobs>[1]) => {
      const offset = offsets[choice] as number;
      offsets[choice] = offset + text.length;
      return wantLogprobs
        ? completionLogprobs(model.tokenizer, tokens, offset, (topLogprobs ?? 0) > 0)
        : null;
    };

    if (body.stream) {
      return eventStream(
        c,
        { pingIntervalMs: deps.limits.pingIntervalSeconds * 1000, onAbort: () => generation.cancel() },
        async (sendEvent) => {
          const send = reportingUsage(sendEvent, directives, () => ({
            promptTokens: promptTotal,
            completionTokens: generation.sampledTokens,
          }));
          if (directives.usageProgress) await send(""); // the prompt's cost, before any token
          if (body.echo) {
            for (let i = 0; i < choiceCount; i++)
              await send(sseData(completionTextChunk(head, i, echo(i), null)));
          }
          let completionTokens = 0;
          const finishes: FinishReason[] = [];
          for await (const event of generation.events) {
            if (event.kind === "error") {
              log.warn({ code: event.error.code }, event.error.message);
              await send(sseData(errorBody(event.error)));
              return;
            }
            if (event.kind === "text") {
              const logprobs = logprobsOf(event.choice, event.text, event.tokens);
              await send(sseData(completionTextChunk(head, event.choice, event.text, logprobs)));
            } else {
              completionTokens += event.completionTokens;
              finishes.push(event.reason);
              await send(sseData(completionTextChunk(head, event.choice, "", null, event.reason)));
            }
          }
          if (finishes.length < choiceCount) {
            log.info({ prompt_tokens: promptTotal, completion_tokens: completionTokens }, "cancelled");
            return;
          }
          await send(sseData(completionUsageChunk(head, usage(promptTotal, completionTokens))));
          await send(sseDone);
          log.info(
            { prompt_tokens: promptTotal, completion_tokens: completionTokens, finish: finishes },
            "completion",
          );
        },
      );
    }

    onAbort(c.req.raw.signal, () => generation.cancel());
    const choices: FinishedCompletionChoice[] = Array.from({ length: choiceCount }, (_, index) => ({
      index,
      text: echo(index),
      finishReason: "stop",
      logprobs: wantLogprobs ? { text_offset: [], token_logprobs: [], tokens: [], top_logprobs: [] } : null,
    }));
    let completionTokens = 0;
    let finished = 0;
    for await (const event of generation.events) {
      if (event.kind === "error") throw event.error;
      const choice = choices[event.choice] as FinishedCompletionChoice;
      if (event.kind === "text") {
        choice.text += event.text;
        const logprobs: CompletionLogprobs | null = logprobsOf(event.choice, event.text, event.tokens);
        if (choice.logprobs && logprobs) appendCompletionLogprobs(choice.logprobs, logprobs);
      } else {
        choice.finishReason = event.reason;
        completionTokens += event.completionTokens;
        finished++;
      }
    }
    if (finished < choiceCount) {
      log.info({ prompt_tokens: promptTotal, completion_tokens: completionTokens }, "cancelled");
      return new Response(null, { status: 499 }); // "client closed request": nobody reads it
    }
    log.info(
      {
        prompt_tokens: promptTotal,
        completion_tokens: completionTokens,
        finish: choices.map((ch) => ch.finishReason),
      },
      "completion",
    );
    return c.json(completion(head, choices, usage(promptTotal, completionTokens)));
  };
}
