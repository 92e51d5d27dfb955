/** POST /v1/chat/completions: one conversation, `n` choices, streamed (SSE) or as one JSON body. */
import {
  type ChatLogprobs,
  chatCompletionRequestSchema,
  errorBody,
  type FinishReason,
  sseData,
  sseDone,
  unsupportedParameter,
} from "@gearbox/shared";
import type { Context } from "hono";
import type { AppEnv } from "../app-env.js";
import { edgeDirectives, reportingUsage } from "../edge-directives.js";
import { eventStream } from "../event-stream.js";
import type { EmittedToken } from "../generation/choice-text.js";
import { Generation } from "../generation/generation.js";
import { onAbort } from "../on-abort.js";
import { chatPromptTokens, checkChatRequest, conversationText } from "../openai/chat-request.js";
import {
  chatCompletion,
  contentChunk,
  type FinishedChatChoice,
  finishChunk,
  roleChunk,
  toolCallChunk,
  usageChunk,
} from "../openai/chat-response.js";
import { choiceConstraints } from "../openai/choice-constraints.js";
import { responseHead, usage } from "../openai/common-fields.js";
import { chatLogprobContent } from "../openai/logprobs.js";
import {
  checkChoiceCount,
  choiceSampling,
  completionBudget,
  stopStrings,
} from "../openai/request-settings.js";
import { outputPlan } from "../openai/structured-output.js";
import { ToolCallReader } from "../openai/tool-call-reader.js";
import { readRequest } from "../read-body.js";
import type { CompletionRouteDeps } from "./completion-route-deps.js";

export function chatCompletionsRoute(deps: CompletionRouteDeps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const body = await readRequest(c, chatCompletionRequestSchema);
    checkChatRequest(body);
    checkChoiceCount(body.n ?? 1, 1, deps.limits.maxChoicesPerRequest);
    const stops = stopStrings(body.stop, deps.limits.maxStopLength);
    const plan = outputPlan(body);
    const directives = edgeDirectives(c);
    const model = deps.models.resolve(
      body.model,
      () => conversationText(body.messages),
      directives.allowedModels,
    );
    const promptTokens = chatPromptTokens(model, body.messages, plan.promptTools);
    const maxNewTokens = completionBudget(
      body.max_completion_tokens ?? body.max_tokens,
      promptTokens.length,
      model.contextLength,
      deps.limits.maxTokensDefault,
      directives.maxTokens,
    );
    const wantLogprobs = body.logprobs === true;
    if (wantLogprobs && plan.toolCalling) {
      throw unsupportedParameter("logprobs", "Log-probabilities are not returned together with tools.");
    }
    const sampling = choiceSampling(body, model.engine.info.vocabSize, {
      logprobs: wantLogprobs,
      topLogprobs: wantLogprobs ? (body.top_logprobs ?? 0) : 0,
    });
    const constraints = plan.grammar
      ? await choiceConstraints(model, plan.grammar, sampling.length)
      : undefined;
    if (c.req.raw.signal.aborted) {
      // The client left while its grammar compiled: nothing to generate for.
      for (const constraint of constraints ?? []) constraint.dispose();
      return new Response(null, { status: 499 });
    }
    const calling = plan.toolCalling;
    const readers = sampling.map(() => (calling ? new ToolCallReader(calling) : undefined));
    /** A choice's finish reason: "tool_calls" when it ended by itself after making calls. */
    const finishReason = (choice: number, reason: FinishReason): FinishReason =>
      reason === "stop" && (readers[choice]?.calls.length ?? 0) > 0 ? "tool_calls" : reason;
    const job = {
      promptTokens,
      firstChoice: 0,
      maxNewTokens,
      sampling,
      ...(constraints ? { constraints } : {}),
    };
    const generation = new Generation(model, [job], {
      stops,
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
        async (sendEvent) => {
          const send = reportingUsage(sendEvent, directives, () => ({
            promptTokens: promptTokens.length,
            completionTokens: generation.sampledTokens,
          }));
          if (directives.usageProgress) await send(""); // the prompt's cost, before any token
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
            const reader = readers[event.choice];
            if (event.kind === "text" && !reader) {
              await send(sseData(contentChunk(head, event.choice, event.text, logprobs(event.tokens))));
              continue;
            }
            if (reader) {
              const read = event.kind === "text" ? reader.push(event.text) : reader.finish();
              for (const e of read) {
                if (e.kind === "content") await send(sseData(contentChunk(head, event.choice, e.text, null)));
                else if (e.kind === "call") {
                  const delta = {
                    index: e.index,
                    id: e.id,
                    type: "function" as const,
                    function: { name: e.name, arguments: "" },
                  };
                  await send(sseData(toolCallChunk(head, event.choice, delta)));
                } else {
                  const delta = { index: e.index, function: { arguments: e.text } };
                  await send(sseData(toolCallChunk(head, event.choice, delta)));
                }
              }
            }
            if (event.kind === "finish") {
              completionTokens += event.completionTokens;
              const reason = finishReason(event.choice, event.reason);
              finishes.push(reason);
              await send(sseData(finishChunk(head, event.choice, reason)));
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

    onAbort(c.req.raw.signal, () => generation.cancel());
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
      const reader = readers[event.choice];
      if (reader) {
        for (const e of event.kind === "text" ? reader.push(event.text) : reader.finish()) {
          if (e.kind === "content") choice.text += e.text;
        }
      } else if (event.kind === "text") {
        choice.text += event.text;
        choice.logprobs?.content?.push(...chatLogprobContent(model.tokenizer, event.tokens));
      }
      if (event.kind === "finish") {
        choice.finishReason = finishReason(event.choice, event.reason);
        if (reader && reader.calls.length > 0) choice.toolCalls = reader.calls;
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
