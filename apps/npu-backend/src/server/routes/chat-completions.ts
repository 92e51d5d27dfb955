/** POST /v1/chat/completions: one conversation, `n` choices, streamed (SSE) or as one JSON body. */
import {
  type ChatLogprobs,
  chatCompletionRequestSchema,
  errorBody,
  type FinishReason,
  sseData,
  sseDone,
} from "@gearbox/shared";
import type { Context } from "hono";
import type { AppEnv } from "../app-env.js";
import { eventStream } from "../event-stream.js";
import type { EmittedToken } from "../generation/choice-text.js";
import { Generation } from "../generation/generation.js";
import { chatPromptTokens, checkChatRequest, conversationText } from "../openai/chat-request.js";
import {
  chatCompletion,
  contentChunk,
  type FinishedChatChoice,
  finishChunk,
  roleChunk,
  usageChunk,
} from "../openai/chat-response.js";
import { responseHead, usage } from "../openai/common-fields.js";
import { chatLogprobContent } from "../openai/logprobs.js";
import { choiceSampling, completionBudget, stopStrings } from "../openai/request-settings.js";
import { readRequest } from "../read-body.js";
import type { CompletionRouteDeps } from "./completion-route-deps.js";

export function chatCompletionsRoute(deps: CompletionRouteDeps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const body = await readRequest(c, chatCompletionRequestSchema);
    checkChatRequest(body);
    const model = deps.models.resolve(body.model, () => conversationText(body.messages));
    const promptTokens = chatPromptTokens(model, body.messages);
    const maxNewTokens = completionBudget(
      body.max_completion_tokens ?? body.max_tokens,
      promptTokens.length,
      model.contextLength,
      deps.limits.maxTokensDefault,
    );
    const wantLogprobs = body.logprobs === true;
    const sampling = choiceSampling(body, model.engine.info.vocabSize, {
      logprobs: wantLogprobs,
      topLogprobs: wantLogprobs ? (body.top_logprobs ?? 0) : 0,
    });
    const generation = new Generation(model, [{ promptTokens, firstChoice: 0, maxNewTokens, sampling }], {
      stops: stopStrings(body.stop),
      deadline: performance.now() + deps.limits.requestTimeoutSeconds * 1000,
    });
    const head = responseHead("chatcmpl", model.id);
    const logprobs = (tokens: EmittedToken[]): ChatLogprobs | null =>
      wantLogprobs ? { content: chatLogprobContent(model.tokenizer, tokens) } : null;
    const log = c.var.log.child({ model: model.id, completion_id: head.id });
    if (deps.logPrompts) log.debug({ messages: body.messages }, "prompt");
    c.header("x-gearbox-model", model.id);

    if (body.stream) {
      return eventStream(
        c,
        { pingIntervalMs: deps.limits.pingIntervalSeconds * 1000, onAbort: () => generation.cancel() },
        async (send) => {
          const started = new Set<number>();
          const begin = async (choice: number) => {
            if (started.has(choice)) return;
            started.add(choice);
            await send(sseData(roleChunk(head, choice)));
          };
          let completionTokens = 0;
          const finishes: FinishReason[] = [];
          for await (const event of generation.events) {
            if (event.kind === "error") {
              log.warn({ code: event.error.code }, event.error.message);
              await send(sseData(errorBody(event.error)));
              return;
            }
            await begin(event.choice);
            if (event.kind === "text") {
              await send(sseData(contentChunk(head, event.choice, event.text, logprobs(event.tokens))));
            } else {
              completionTokens += event.completionTokens;
              finishes.push(event.reason);
              await send(sseData(finishChunk(head, event.choice, event.reason)));
            }
          }
          if (finishes.length < sampling.length) {
            log.info(
              { prompt_tokens: promptTokens.length, completion_tokens: completionTokens },
              "cancelled",
            );
            return;
          }
          await send(sseData(usageChunk(head, usage(promptTokens.length, completionTokens))));
          await send(sseDone);
          log.info(
            { prompt_tokens: promptTokens.length, completion_tokens: completionTokens, finish: finishes },
            "completion",
          );
        },
      );
    }

    c.req.raw.signal.addEventListener("abort", () => generation.cancel(), { once: true });
    const choices: FinishedChatChoice[] = sampling.map((_, index) => ({
      index,
      text: "",
      finishReason: "stop",
      logprobs: wantLogprobs ? { content: [] } : null,
    }));
    let completionTokens = 0;
    let finished = 0;
    for await (const event of generation.events) {
      if (event.kind === "error") throw event.error;
      const choice = choices[event.choice] as FinishedChatChoice;
      if (event.kind === "text") {
        choice.text += event.text;
        choice.logprobs?.content?.push(...chatLogprobContent(model.tokenizer, event.tokens));
      } else {
        choice.finishReason = event.reason;
        completionTokens += event.completionTokens;
        finished++;
      }
    }
    if (finished < choices.length) {
      log.info({ prompt_tokens: promptTokens.length, completion_tokens: completionTokens }, "cancelled");
      return new Response(null, { status: 499 }); // "client closed request": nobody reads it
    }
    log.info(
      {
        prompt_tokens: promptTokens.length,
        completion_tokens: completionTokens,
        finish: choices.map((ch) => ch.finishReason),
      },
      "completion",
    );
    if (deps.logPrompts) log.debug({ choices: choices.map((ch) => ch.text) }, "answer");
    return c.json(chatCompletion(head, choices, usage(promptTokens.length, completionTokens)));
  };
}
