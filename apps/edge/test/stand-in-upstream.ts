/**
 * A stand-in for a gearbox backend, for the edge's own tests: a real HTTP server on 127.0.0.1
 * speaking the backend's side of the contract (/health, /v1/models, chat and legacy completions,
 * streamed and not, with `x-gearbox-inflight`). It records every request it sees, whether its
 * signature verifies, and whether the client closed it before the answer was complete.
 *
 * What a completion does is steered by words in the prompt's last text, e.g.
 * "chunks=50 interval=20 fail-after=3 status=503 usage=120 hang" (hang: ping every 100 ms, forever).
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import {
  DIRECTIVE_HEADERS,
  type DirectiveHeaders,
  SIGNATURE_HEADER,
  sseComment,
  sseData,
  sseDone,
  TIMESTAMP_HEADER,
  type VerifyResult,
  verifySignature,
} from "@gearbox/shared";

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
  signature: VerifyResult;
  /** The client closed the connection before the answer was complete. */
  closedEarly: boolean;
  /** Set when the answer was complete or the connection closed. */
  ended: Promise<void>;
}

interface Directives {
  chunks: number;
  interval: number;
  failAfter: number | undefined;
  status: number;
  usage: number | undefined;
  hang: boolean;
}

export class StandInUpstream {
  readonly seen: SeenRequest[] = [];
  /** What /health says; "loading" answers 503 as a warming backend does. */
  healthStatus: "ok" | "loading" = "ok";
  /** When set, every completion is answered with this status (e.g. 503: overloaded). */
  forcedStatus: number | undefined;
  /** Requests from elsewhere that this backend reports as running, on top of its own. */
  otherLoad = 0;
  /** Holds each /health answer (of any kind, a refused signature included) this many ms. */
  healthDelayMs = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private inflight = 0;
  port = 0;

  constructor(
    private readonly secret: string,
    readonly models: string[] = ["llama-3.2-1b-en"],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Completion requests seen (not health probes or model lists). */
  get completions(): SeenRequest[] {
    return this.seen.filter((r) => r.path.startsWith("/v1/") && r.path.includes("completions"));
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    this.server.listen(port, "127.0.0.1");
    await once(this.server, "listening");
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Dies as a crashed process does: stops listening and drops every open connection. */
  async kill(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = once(server, "close");
    server.close();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = "";
    for await (const chunk of req) body += chunk;
    const path = req.url ?? "/";
    if (path === "/health" && this.healthDelayMs > 0)
      await new Promise((r) => setTimeout(r, this.healthDelayMs));
    const signature = await verifySignature(this.secret, {
      method: req.method ?? "GET",
      pathAndQuery: path,
      body,
      timestamp: header(req, TIMESTAMP_HEADER),
      signature: header(req, SIGNATURE_HEADER),
      directives: Object.fromEntries(
        DIRECTIVE_HEADERS.flatMap((name) => {
          const value = header(req, name);
          return value === undefined ? [] : [[name, value]];
        }),
      ) as DirectiveHeaders,
    });
    let markEnded = () => {};
    const seen: SeenRequest = {
      method: req.method ?? "",
      path,
      headers: req.headers,
      body,
      signature,
      closedEarly: false,
      ended: new Promise((resolve) => {
        markEnded = resolve;
      }),
    };
    this.seen.push(seen);
    res.on("close", () => {
      seen.closedEarly = !res.writableFinished;
      markEnded();
    });

    if (!signature.ok) return json(res, 401, errorJson(`bad signature: ${signature.reason}`));
    if (path === "/health") {
      const status = this.healthStatus === "ok" ? 200 : 503;
      return json(res, status, {
        status: this.healthStatus,
        models: this.models,
        running: this.inflight + this.otherLoad,
        waiting: 0,
      });
    }
    if (path === "/v1/models") {
      const data = this.models.map((id) => ({
        id,
        created: 1_700_000_000,
        object: "model",
        owned_by: "gearbox",
      }));
      return json(res, 200, { object: "list", data });
    }
    if (path === "/v1/chat/completions" || path === "/v1/completions") {
      this.inflight++;
      res.on("close", () => this.inflight--);
      return this.complete(path, JSON.parse(body) as Record<string, unknown>, res);
    }
    return json(res, 404, errorJson(`no route ${path}`));
  }

  private async complete(path: string, request: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const d = directives(lastText(request));
    const model = String(request.model);
    if (this.forcedStatus !== undefined) d.status = this.forcedStatus;
    if (d.status !== 200) return json(res, d.status, errorJson(`stand-in answered ${d.status}`));
    const chat = path === "/v1/chat/completions";
    const head = { id: "stand-in-1", created: 1_700_000_000, model };
    const usage = { prompt_tokens: 10, completion_tokens: d.chunks, total_tokens: d.usage ?? 10 + d.chunks };
    const text = Array.from({ length: d.chunks }, (_, i) => `tok${i} `);
    const headers = {
      "x-gearbox-inflight": String(this.inflight + this.otherLoad),
      "x-gearbox-model": model,
    };

    if (request.stream !== true) {
      const choice = chat
        ? {
            finish_reason: "stop",
            index: 0,
            logprobs: null,
            message: { content: text.join(""), role: "assistant" },
          }
        : { finish_reason: "stop", index: 0, logprobs: null, text: text.join("") };
      return json(
        res,
        200,
        { ...head, object: chat ? "chat.completion" : "text_completion", choices: [choice], usage },
        headers,
      );
    }

    res.writeHead(200, { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" });
    // As the contract asks: headers and a ping at once, so that the edge can pass aborts on.
    res.write(sseComment("ping"));
    if (d.hang) {
      // A long prefill: nothing but the pings the contract repeats meanwhile.
      const pinger = setInterval(() => res.write(sseComment("ping")), 100);
      res.on("close", () => clearInterval(pinger));
      return;
    }
    const object = chat ? "chat.completion.chunk" : "text_completion";
    const chunk = (choice: Record<string, unknown>) => ({
      ...head,
      object,
      choices: [{ index: 0, ...choice }],
    });
    if (chat) res.write(sseData(chunk({ delta: { role: "assistant", content: "" }, finish_reason: null })));
    for (let i = 0; i < d.chunks; i++) {
      if (res.destroyed) return;
      if (d.failAfter === i) {
        // Crash as a process does, after what was written so far has reached the wire.
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      if (d.interval > 0) await sleep(d.interval);
      const piece = text[i] ?? "";
      await write(
        res,
        sseData(
          chunk(
            chat
              ? { delta: { content: piece }, finish_reason: null }
              : { text: piece, finish_reason: null, logprobs: null },
          ),
        ),
      );
    }
    res.write(
      sseData(
        chunk(
          chat ? { delta: {}, finish_reason: "stop" } : { text: "", finish_reason: "stop", logprobs: null },
        ),
      ),
    );
    res.write(sseData({ ...head, object, choices: [], usage }));
    res.end(sseDone);
  }
}

function directives(text: string): Directives {
  const number = (name: string) => {
    const match = new RegExp(`\\b${name}=(\\d+)`).exec(text);
    return match ? Number(match[1]) : undefined;
  };
  return {
    chunks: number("chunks") ?? 3,
    interval: number("interval") ?? 0,
    failAfter: number("fail-after"),
    status: number("status") ?? 200,
    usage: number("usage"),
    hang: /\bhang\b/.test(text),
  };
}

function lastText(request: Record<string, unknown>): string {
  if (typeof request.prompt === "string") return request.prompt;
  const messages = request.messages as { content?: unknown }[] | undefined;
  const content = messages?.at(-1)?.content;
  return typeof content === "string" ? content : "";
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Writes and waits until the bytes are handed to the socket. */
function write(res: ServerResponse, text: string): Promise<void> {
  return new Promise((resolve) => res.write(text, () => resolve()));
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function errorJson(message: string) {
  return { error: { message, type: "invalid_request_error", param: null, code: "stand_in" } };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
