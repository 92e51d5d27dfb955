/**
 * The playground page: a settings panel (API base and key, model, system prompt, temperature, max
 * tokens, JSON mode), the conversation, and a composer with Send / Stop / Clear. The conversation
 * lives only in the page; each request sends all of it. Text is put in with textContent only, so
 * nothing a model writes is ever read as HTML.
 */
import { ApiClient, type ChatMessage, PlaygroundError } from "./api.js";
import { remember, remembered } from "./settings.js";
import { AnswerTiming } from "./timing.js";

const DEFAULT_SCHEMA = JSON.stringify(
  {
    type: "object",
    properties: { answer: { type: "string" } },
    required: ["answer"],
    additionalProperties: false,
  },
  null,
  2,
);

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no #${id}`);
  return found;
}

const ui = {
  base: element("api-base", HTMLInputElement),
  key: element("api-key", HTMLInputElement),
  model: element("model", HTMLSelectElement),
  system: element("system", HTMLTextAreaElement),
  temperature: element("temperature", HTMLInputElement),
  maxTokens: element("max-tokens", HTMLInputElement),
  jsonMode: element("json-mode", HTMLInputElement),
  jsonSchemaLabel: element("json-schema-label", HTMLLabelElement),
  jsonSchema: element("json-schema", HTMLTextAreaElement),
  messages: element("messages", HTMLDivElement),
  error: element("error", HTMLDivElement),
  composer: element("composer", HTMLFormElement),
  prompt: element("prompt", HTMLTextAreaElement),
  send: element("send", HTMLButtonElement),
  stop: element("stop", HTMLButtonElement),
  clear: element("clear", HTMLButtonElement),
  stats: element("stats", HTMLParagraphElement),
};

const history: ChatMessage[] = [];
/** Bumped by Clear, so that an answer stopped by Clear does not come back into the new conversation. */
let conversation = 0;
let running: AbortController | undefined;
let modelsLoading: AbortController | undefined;

// ------------------------------------------------------------------ settings kept in the tab

/** Text fields restored from sessionStorage and saved on every change. */
const kept: [string, HTMLInputElement | HTMLTextAreaElement][] = [
  ["base", ui.base],
  ["key", ui.key],
  ["system", ui.system],
  ["temperature", ui.temperature],
  ["max-tokens", ui.maxTokens],
  ["json-schema", ui.jsonSchema],
];
for (const [name, field] of kept) {
  const value = remembered(name);
  if (value !== null) field.value = value;
  field.addEventListener("input", () => remember(name, field.value));
}
if (!ui.base.value) ui.base.value = location.origin;
if (!ui.jsonSchema.value) ui.jsonSchema.value = DEFAULT_SCHEMA;
ui.jsonMode.checked = remembered("json-mode") === "on";
ui.jsonSchemaLabel.hidden = !ui.jsonMode.checked;
ui.jsonMode.addEventListener("change", () => {
  remember("json-mode", ui.jsonMode.checked ? "on" : "");
  ui.jsonSchemaLabel.hidden = !ui.jsonMode.checked;
});
ui.model.addEventListener("change", () => remember("model", ui.model.value));

function client(): ApiClient {
  return new ApiClient(ui.base.value.trim().replace(/\/+$/, ""), ui.key.value.trim());
}

// ------------------------------------------------------------------ errors and stats

function showError(error: unknown): void {
  ui.error.textContent =
    error instanceof PlaygroundError
      ? error.display()
      : error instanceof Error
        ? error.message
        : String(error);
  ui.error.hidden = false;
}

function hideError(): void {
  ui.error.hidden = true;
  ui.error.textContent = "";
}

function showStats(o: {
  model: string | null;
  requested: string;
  timing: AnswerTiming;
  finish: string;
}): void {
  const parts: string[] = [];
  const model = o.model ?? o.requested;
  parts.push(o.model && o.model !== o.requested ? `model ${model} (${o.requested})` : `model ${model}`);
  const ttft = o.timing.timeToFirstTokenMs;
  parts.push(ttft === undefined ? "no tokens" : `first token ${Math.round(ttft)} ms`);
  const speed = o.timing.tokensPerSecond;
  if (speed) parts.push(`${speed.estimated ? "≈" : ""}${speed.value.toFixed(1)} tokens/s`);
  const tokens = o.timing.tokens;
  parts.push(`${tokens.estimated ? "≈" : ""}${tokens.count} tokens`);
  parts.push(o.finish);
  ui.stats.textContent = parts.join(" · ");
  ui.stats.dataset.model = model;
  ui.stats.dataset.ttftMs = ttft === undefined ? "" : ttft.toFixed(1);
  ui.stats.dataset.tokensPerSecond = speed ? speed.value.toFixed(2) : "";
  ui.stats.dataset.finish = o.finish;
}

// ------------------------------------------------------------------ models

async function loadModels(): Promise<void> {
  modelsLoading?.abort();
  const abort = new AbortController();
  modelsLoading = abort;
  try {
    const models = await client().listModels(abort.signal);
    const wanted = ui.model.value || remembered("model");
    ui.model.replaceChildren(
      ...models.map((id) => {
        const option = document.createElement("option");
        option.value = id;
        option.textContent = id === "auto" ? "auto (routed by language)" : id;
        return option;
      }),
    );
    const choice = models.find((id) => id === wanted) ?? models.find((id) => id === "auto") ?? models[0];
    if (choice !== undefined) ui.model.value = choice;
    ui.model.dataset.loaded = "true";
    hideError();
  } catch (error) {
    if (abort.signal.aborted) return;
    ui.model.replaceChildren();
    delete ui.model.dataset.loaded;
    showError(error);
  }
}
ui.key.addEventListener("change", () => void loadModels());
ui.base.addEventListener("change", () => void loadModels());

// ------------------------------------------------------------------ conversation

function addMessage(role: ChatMessage["role"], text: string): { root: HTMLElement; content: HTMLElement } {
  const root = document.createElement("div");
  root.className = `message ${role}`;
  const label = document.createElement("div");
  label.className = "role";
  label.textContent = role;
  const content = document.createElement("div");
  content.className = "content";
  content.textContent = text;
  root.append(label, content);
  ui.messages.append(root);
  ui.messages.scrollTop = ui.messages.scrollHeight;
  return { root, content };
}

function labelOf(bubble: { root: HTMLElement }, text: string): void {
  const label = bubble.root.querySelector(".role");
  if (label) label.textContent = text;
}

/** The request for the conversation so far plus `text`; throws a PlaygroundError on a bad setting. */
function buildRequest(text: string): Record<string, unknown> {
  const model = ui.model.value;
  if (!model) throw new PlaygroundError("Pick a model first (the list loads once the API key is accepted).");
  const system = ui.system.value.trim();
  const messages: ChatMessage[] = [
    ...(system ? [{ role: "system" as const, content: system }] : []),
    ...history,
    { role: "user", content: text },
  ];
  const request: Record<string, unknown> = { model, messages };
  // Empty fields are left out (the server's defaults apply); anything else goes as typed, and a
  // value the server refuses comes back as its own error message.
  if (ui.temperature.value.trim() !== "") request.temperature = Number(ui.temperature.value);
  if (ui.maxTokens.value.trim() !== "") request.max_tokens = Number(ui.maxTokens.value);
  if (ui.jsonMode.checked) {
    let schema: unknown;
    try {
      schema = JSON.parse(ui.jsonSchema.value);
    } catch (error) {
      throw new PlaygroundError(`The JSON schema is not valid JSON: ${(error as Error).message}`);
    }
    request.response_format = {
      type: "json_schema",
      json_schema: { name: "playground_answer", strict: true, schema },
    };
  }
  return request;
}

function setRunning(abort: AbortController | undefined): void {
  running = abort;
  ui.send.disabled = abort !== undefined;
  ui.stop.disabled = abort === undefined;
}

async function send(): Promise<void> {
  if (running) return;
  const text = ui.prompt.value;
  if (text.trim() === "") return;
  hideError();
  let request: Record<string, unknown>;
  try {
    request = buildRequest(text);
  } catch (error) {
    showError(error);
    return;
  }
  const requested = String(request.model);
  const userBubble = addMessage("user", text);
  ui.prompt.value = "";
  const bubble = addMessage("assistant", "");
  bubble.root.classList.add("streaming");
  const abort = new AbortController();
  setRunning(abort);
  const started = conversation;
  const timing = new AnswerTiming();
  let answer = "";
  let model: string | null = null;
  let finish = "incomplete";
  try {
    await client().streamChat(request, abort.signal, {
      onOpen: (served) => {
        model = served;
        if (served) labelOf(bubble, `assistant · ${served}`);
      },
      onText: (piece) => {
        timing.text();
        answer += piece;
        bubble.content.textContent = answer;
        ui.messages.scrollTop = ui.messages.scrollHeight;
      },
      onUsage: (tokens) => timing.usage(tokens),
      onFinish: (reason) => {
        finish = reason;
      },
    });
  } catch (error) {
    if (abort.signal.aborted) {
      finish = "stopped";
      labelOf(bubble, `assistant · ${model ?? requested} · stopped`);
    } else if (answer === "") {
      // Nothing came back: undo the turn and give the text back, so that it can be sent again.
      userBubble.root.remove();
      bubble.root.remove();
      ui.prompt.value = text;
      showError(error);
      setRunning(undefined);
      return;
    } else {
      finish = "failed";
      labelOf(bubble, `assistant · ${model ?? requested} · failed`);
      showError(error);
    }
  }
  bubble.root.classList.remove("streaming");
  bubble.root.dataset.finish = finish;
  if (conversation === started)
    history.push({ role: "user", content: text }, { role: "assistant", content: answer });
  showStats({ model, requested, timing, finish });
  setRunning(undefined);
}

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  void send();
});
ui.prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.stop.addEventListener("click", () => running?.abort());
ui.clear.addEventListener("click", () => {
  running?.abort();
  conversation++;
  history.length = 0;
  ui.messages.replaceChildren();
  hideError();
});

void loadModels();
