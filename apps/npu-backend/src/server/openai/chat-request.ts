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
  const format = body.response_format?.type;
  if (format !== undefined && format !== "text") {
    throw unsupportedParameter("response_format", `Only {"type": "text"} is supported, not '${format}'.`);
  }
  if (body.tools && body.tools.length > 0)
    throw unsupportedParameter("tools", "Tool calling is not implemented yet.");
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== null && choice !== "none" && choice !== "auto") {
    throw unsupportedParameter("tool_choice", "Tool calling is not implemented yet.");
  }
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
export function chatPromptTokens(model: ServedModel, messages: readonly ChatMessage[]): number[] {
  let text: string;
  try {
    // Every caller-supplied string is escaped so that only the template's markup makes special tokens.
    const escaped = messages.map((m) => model.promptEncoder.escapeDeep(templateMessage(m)));
    text = model.chatTemplate.render(escaped);
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
