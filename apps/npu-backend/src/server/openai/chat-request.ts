/**
 * POST /v1/chat/completions, from the validated body to prompt tokens: what this server does not
 * implement is refused by name, the messages are rendered with the model's chat template.
 */
import {
  type ChatCompletionRequest,
  type ChatMessage,
  chatCompletionRequestSchema,
  invalidRequest,
  unknownFields,
  unsupportedParameter,
} from "@gearbox/shared";
import { ChatTemplateError, type ChatMessage as TemplateMessage } from "../../chat/chat-template.js";
import type { ServedModel } from "../../models/served-model.js";

/** Throws a 400 naming the first parameter this server does not implement. */
export function checkChatRequest(body: ChatCompletionRequest): void {
  const unknown = unknownFields(chatCompletionRequestSchema, body);
  if (unknown[0] !== undefined) throw unsupportedParameter(unknown[0]);
  if (body.top_logprobs && !body.logprobs) {
    throw invalidRequest(
      "Invalid parameter 'top_logprobs': it requires 'logprobs' to be true.",
      "top_logprobs",
    );
  }
  body.messages.forEach((message, i) => {
    if (!Array.isArray(message.content)) return;
    message.content.forEach((part, j) => {
      if (part.type !== "text") {
        throw unsupportedParameter(
          `messages[${i}].content[${j}]`,
          `Content of type '${part.type}' is not supported (text only).`,
        );
      }
    });
  });
}

/**
 * Parallel tool calls in the history: Llama 3.x templates render one call per assistant turn (the
 * 3.1/3.2 ones refuse more), so an assistant message with several calls becomes that many turns, one
 * call each (the text, if any, with the first), followed as usual by the tool results.
 */
function splitToolCalls(message: TemplateMessage): TemplateMessage[] {
  const calls = message.tool_calls ?? [];
  if (message.role !== "assistant" || calls.length < 2) return [message];
  return calls.map((call, i) => ({
    ...message,
    content: i === 0 ? message.content : "",
    tool_calls: [call],
  }));
}

function templateMessage(message: ChatMessage): TemplateMessage {
  const out: TemplateMessage = {
    role: message.role,
    content: message.content as TemplateMessage["content"],
  };
  if (message.role === "assistant" && message.tool_calls) out.tool_calls = message.tool_calls;
  if (message.role === "tool") out.tool_call_id = message.tool_call_id;
  if ("name" in message && typeof message.name === "string") out.name = message.name;
  return out;
}

/** The prompt: the conversation rendered by the model's chat template (which carries the BOS). */
export function chatPromptTokens(
  model: ServedModel,
  messages: readonly ChatMessage[],
  tools?: readonly unknown[],
): number[] {
  let text: string;
  try {
    // Every caller-supplied string (messages and tool definitions) is escaped so that only the
    // template's markup makes special tokens.
    const enc = model.promptEncoder;
    text = model.chatTemplate.render(
      messages
        .map(templateMessage)
        .flatMap(splitToolCalls)
        .map((m) => enc.escapeDeep(m)),
      tools ? { tools: enc.escapeDeep(tools) } : {},
    );
  } catch (error) {
    if (error instanceof ChatTemplateError)
      throw invalidRequest(`Invalid parameter 'messages': ${error.message}.`, "messages");
    throw error;
  }
  return model.promptEncoder.encodeRendered(text);
}

function messageText(message: ChatMessage): string {
  const content = message.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => ("text" in part && typeof part.text === "string" ? part.text : "")).join("\n");
}

/**
 * The text the "auto" router judges the language by: what the user and the assistant said. System
 * prompts are left out (they are often English boilerplate in front of a Chinese conversation).
 */
export function conversationText(messages: readonly ChatMessage[]): string {
  const spoken = messages.filter((m) => m.role === "user" || m.role === "assistant");
  return (spoken.length > 0 ? spoken : messages).map(messageText).join("\n");
}
