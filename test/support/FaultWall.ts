/**
 * A TypeScript port of failoverbench's *wall* (github.com/failoverbench/failoverbench, MIT,
 * `failoverbench/wall.py`): a fake OpenAI-compatible provider on 127.0.0.1 (ephemeral port) that
 * fails on purpose, the fault chosen by the model name (`fb-ok`, `fb-s01-429-retry-after` …,
 * read after the last `/`). Ported so CI (a clean clone) runs the benchmark's scenarios without
 * the Python harness; the behaviours, the answer text, the prefill rule and the attempt log are
 * the wall's, only the timings are configurable (short in tests).
 *
 *   const wall = await startFaultWall({ timing: { stallMs: 2_000 } })
 *   // providers file: { protocol: "openai", base_url: wall.url, models: [...] }
 *   wall.reset()                       // before each scenario, as the benchmark's runner does
 *   wall.attemptsFor("fb-s03-500-then-200")  // → [{ t, attempt, action, … }]
 *   await wall.close()
 *
 * Built on `node:http` rather than raw sockets (the Python wall uses raw asyncio): every fault it
 * needs is reachable from there — a TCP RST before any byte (`resetAndDestroy`), headers then
 * silence (`flushHeaders`), a chunked body that ends without its terminating chunk (the socket
 * closed mid-body), a connection held open without an answer. Writes are awaited before a close,
 * as the wall's `drain()` does, so a cut always comes after the bytes before it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { performance } from "node:perf_hooks"

/** The sixty-word answer every healthy completion returns (failoverbench `CANONICAL_ANSWER`). */
export const CANONICAL_ANSWER =
  "A gateway earns trust only when the provider behind it misbehaves. " +
  "Rate limits arrive without warning, streams die halfway through a sentence, " +
  "servers answer with malformed bytes, and a healthy model returns to service " +
  "while the breaker is still open. This answer contains exactly sixty words so " +
  "that a truncated response can never be mistaken for a complete one again."

const WORDS = CANONICAL_ANSWER.split(/\s+/)

/** What the wall does for a model; `fb-s14-…` shares S08's fault and `fb-s16-…` S04's. */
export type WallBehaviour =
  | "ok"
  | "ok_noprefill"
  | "429_retry_after_once"
  | "429_persistent"
  | "500_once"
  | "503_persistent"
  | "reset_once"
  | "no_response"
  | "slow_ttft"
  | "stream_cut"
  | "stream_stall"
  | "malformed_chunk"
  | "no_done"
  | "context_length"
  | "content_filter"
  | "flap"

/** Tag (the `fb-<tag>` part of a model name) → behaviour, as in the wall. */
export const WALL_BEHAVIOURS: Readonly<Record<string, WallBehaviour>> = {
  ok: "ok",
  "ok-noprefill": "ok_noprefill",
  s01: "429_retry_after_once",
  s02: "429_persistent",
  s03: "500_once",
  s04: "503_persistent",
  s05: "reset_once",
  s06: "no_response",
  s07: "slow_ttft",
  s08: "stream_cut",
  s09: "stream_stall",
  s10: "malformed_chunk",
  s11: "no_done",
  s12: "context_length",
  s13: "content_filter",
  s14: "stream_cut",
  s15: "flap",
  s16: "503_persistent",
}

/** The part of a model name the wall keys on: after the last `/`, trimmed, lower case. */
export const tagKey = (model: string | undefined | null): string =>
  (model ?? "").split("/").at(-1)!.trim().toLowerCase()

/** `fb-s03-500-then-200` → `s03`, `fb-ok-noprefill` → `ok-noprefill`; not a wall model → undefined. */
export const tagFor = (model: string): string | undefined => {
  const name = tagKey(model)
  if (!name.startsWith("fb-")) return undefined
  const rest = name.slice(3)
  if (rest === "ok" || rest === "ok-noprefill") return rest
  const tag = rest.split("-", 1)[0]!
  return tag in WALL_BEHAVIOURS ? tag : undefined
}

/** The wall's timing profile, in milliseconds (the Python wall's seconds × 1000). */
export interface WallTiming {
  /** `Retry-After` of S01's first 429, whole seconds (the header carries an integer). */
  readonly retryAfterS: number
  /** S07: headers at once, the first chunk after this long. */
  readonly slowTtftMs: number
  /** S09: silence after `stallAfterTokens`, then the connection is closed. */
  readonly stallMs: number
  /** S06: how long a request is held without any answer before the connection is closed. */
  readonly noResponseMs: number
  /** S15: 503 for this long after the last `reset()`, healthy afterwards. */
  readonly flapDownMs: number
  /** Pause after each streamed token. */
  readonly tokenIntervalMs: number
  readonly cutAfterTokens: number
  readonly stallAfterTokens: number
  readonly malformedAtToken: number
}

/** The benchmark's own profiles (`TIMING_PROFILES` in wall.py). */
export const WALL_PROFILES: Readonly<Record<"full" | "fast", WallTiming>> = {
  full: {
    retryAfterS: 2,
    slowTtftMs: 20_000,
    stallMs: 30_000,
    noResponseMs: 120_000,
    flapDownMs: 60_000,
    tokenIntervalMs: 15,
    cutAfterTokens: 40,
    stallAfterTokens: 20,
    malformedAtToken: 10,
  },
  fast: {
    retryAfterS: 2,
    slowTtftMs: 3_000,
    stallMs: 4_000,
    noResponseMs: 15_000,
    flapDownMs: 6_000,
    tokenIntervalMs: 5,
    cutAfterTokens: 40,
    stallAfterTokens: 20,
    malformedAtToken: 10,
  },
}

/** One request the wall saw (the wall's log entry). */
export interface WallAttempt {
  /** Seconds since the last `reset()` when the request (head and body) had arrived. */
  readonly t: number
  readonly model: string
  readonly tag: string | undefined
  /** 1-based count of requests for this exact model name since the last reset. */
  readonly attempt: number
  readonly stream: boolean
  readonly lastRole: string | undefined
  /** The last message's content when it was an assistant message (a prefill). */
  readonly prefill: string | undefined
  readonly requestId: string | undefined
  readonly auth: boolean
  /** What the wall did: `429 retry-after=1`, `tcp-reset`, `200 stream cut after 40 tokens …`. */
  action: string | undefined
  /** Whitespace words of every message + 4 each: tells a compacted retry from a blind one. */
  promptTokens: number | undefined
  /** S06: seconds after which the client hung up, `null` when the wall closed first. */
  clientGaveUpAt: number | null | undefined
}

export interface FaultWall {
  /** `http://127.0.0.1:PORT` (no `/v1`: the wall answers any path ending in `/chat/completions`). */
  readonly url: string
  readonly port: number
  readonly timing: WallTiming
  /** Clears the log and the attempt counters and restarts the clock (S15's down window). */
  reset(): void
  /** Every request since the last reset, in arrival order. */
  log(): ReadonlyArray<WallAttempt>
  /** The requests whose model names the same wall model as `model` (any provider prefix). */
  attemptsFor(model: string): ReadonlyArray<WallAttempt>
  /** Seconds since the last reset. */
  now(): number
  /** Stops the server, destroying open sockets (held and stalled requests included). */
  close(): Promise<void>
}

interface ChatBody {
  readonly model?: unknown
  readonly stream?: unknown
  readonly messages?: ReadonlyArray<{ readonly role?: unknown; readonly content?: unknown }>
  readonly stream_options?: { readonly include_usage?: unknown }
}

const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits

/** Python's `%g` for the whole and simple fractional numbers the wall prints. */
const g = (n: number) => String(n)

export const startFaultWall = async (options: { readonly timing?: Partial<WallTiming> } = {}): Promise<FaultWall> => {
  const timing: WallTiming = { ...WALL_PROFILES.fast, ...options.timing }
  const startedAt = Math.floor(Date.now() / 1000)
  let t0 = performance.now()
  let entries: Array<WallAttempt> = []
  let counts = new Map<string, number>()
  let seq = 0
  const sockets = new Set<Socket>()
  /** Aborts every pending sleep on close, so no timer outlives the wall. */
  const closing = new AbortController()

  const now = () => round((performance.now() - t0) / 1000, 4)

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (closing.signal.aborted) return resolve()
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        closing.signal.removeEventListener("abort", done)
        resolve()
      }
      closing.signal.addEventListener("abort", done, { once: true })
    })

  /** Writes and waits until the bytes are handed to the socket (the wall's `drain()`); resolves too if the client is gone. */
  const write = (res: ServerResponse, data: string | Buffer) =>
    new Promise<void>((resolve) => {
      if (res.destroyed) return resolve()
      const done = () => {
        res.off("close", done)
        resolve()
      }
      res.once("close", done)
      res.write(data, done)
    })

  /** Closes the connection without ending the HTTP message: the client sees a body cut short. */
  const hangUp = (res: ServerResponse) => {
    res.socket?.destroy()
    res.destroy()
  }

  const sendJson = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    const bytes = Buffer.from(JSON.stringify(body))
    res.writeHead(status, REASONS[status] ?? "OK", {
      "Content-Type": "application/json",
      "Content-Length": String(bytes.length),
      Server: "failoverbench-wall-ts/0.1.0",
      ...extra,
    })
    res.end(bytes)
  }

  const sendError = (
    res: ServerResponse,
    status: number,
    message: string,
    type: string,
    code: string | null,
    extra: Record<string, string> = {},
    param: string | null = null,
  ) => sendJson(res, status, { error: { message, type, param, code } }, extra)

  /** S06: hold the request until `ms` pass or the client hangs up; returns when the client left, or null. */
  const waitOrClientGone = (res: ServerResponse, ms: number) =>
    new Promise<number | null>((resolve) => {
      const started = now()
      const gone = () => {
        void settle(round(now() - started, 3))
      }
      let settled = false
      const settle = async (value: number | null) => {
        if (settled) return
        settled = true
        res.off("close", gone)
        resolve(value)
      }
      res.once("close", gone)
      void sleep(ms).then(() => settle(null))
    })

  const completion = (rid: string, model: string, text: string, promptTokens: number, nWords: number) => ({
    id: rid,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { prompt_tokens: promptTokens, completion_tokens: nWords, total_tokens: promptTokens + nWords },
  })

  type Mode = "ok" | "slow" | "cut" | "stall" | "malformed" | "no_done"

  const plainAnswer = async (
    res: ServerResponse,
    model: string,
    words: ReadonlyArray<string>,
    continuation: boolean,
    mode: Mode,
    promptTokens: number,
    entry: WallAttempt,
  ) => {
    const text = (continuation ? " " : "") + words.join(" ")
    const rid = `chatcmpl-fb-${seq}`
    if (mode === "slow") {
      entry.action = `200 after ${g(timing.slowTtftMs / 1000)}s`
      await sleep(timing.slowTtftMs)
    }
    const body = Buffer.from(JSON.stringify(completion(rid, model, text, promptTokens, words.length)))
    if (mode === "cut") {
      // Declare the full length, send 60 % of it, then hang up.
      const n = Math.floor(body.length * 0.6)
      entry.action = `200 truncated body ${n}/${body.length}B then close`
      res.writeHead(200, {
        "Content-Type": "application/json",
        "Content-Length": String(body.length),
        Connection: "close",
      })
      await write(res, body.subarray(0, n))
      return hangUp(res)
    }
    if (mode === "stall") {
      entry.action = `200 headers then silence ${g(timing.stallMs / 1000)}s then close`
      res.writeHead(200, {
        "Content-Type": "application/json",
        "Content-Length": String(body.length),
        Connection: "close",
      })
      res.flushHeaders()
      await sleep(timing.stallMs)
      return hangUp(res)
    }
    if (mode === "malformed") {
      const bad = Buffer.concat([body.subarray(0, Math.floor(body.length / 2)), Buffer.from('"oops')])
      entry.action = "200 malformed JSON body"
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(bad.length) })
      return void res.end(bad)
    }
    entry.action ??= "200"
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(body.length) })
    res.end(body)
  }

  const streamAnswer = async (
    res: ServerResponse,
    model: string,
    words: ReadonlyArray<string>,
    continuation: boolean,
    mode: Mode,
    includeUsage: boolean,
    promptTokens: number,
    entry: WallAttempt,
  ) => {
    const rid = `chatcmpl-fb-${seq}`
    const created = Math.floor(Date.now() / 1000)
    const chunk = (delta: object, finish: string | null = null, usage?: object, choices = true) => ({
      id: rid,
      object: "chat.completion.chunk",
      created,
      model,
      choices: choices ? [{ index: 0, delta, finish_reason: finish }] : [],
      ...(usage !== undefined ? { usage } : {}),
    })
    const sse = (frame: object | string) =>
      write(res, typeof frame === "string" ? frame : `data: ${JSON.stringify(frame)}\n\n`)

    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no",
    })
    res.flushHeaders()
    if (mode === "slow") {
      entry.action = `200 stream, first token after ${g(timing.slowTtftMs / 1000)}s`
      await sleep(timing.slowTtftMs)
    }
    await sse(chunk({ role: "assistant", content: "" }))
    let sent = 0
    for (let i = 0; i < words.length; i++) {
      // A client that hung up ends the answer (the wall's drain() raises then).
      if (res.destroyed || closing.signal.aborted) return
      if (mode === "cut" && i === timing.cutAfterTokens) {
        entry.action = `200 stream cut after ${i} tokens (no terminating chunk)`
        return hangUp(res)
      }
      if (mode === "stall" && i === timing.stallAfterTokens) {
        entry.action = `200 stream stalled after ${i} tokens for ${g(timing.stallMs / 1000)}s then close`
        await sleep(timing.stallMs)
        return hangUp(res)
      }
      if (mode === "malformed" && i === timing.malformedAtToken) {
        entry.action = `200 stream with malformed chunk at token ${i}`
        await sse(`data: {"id": "${rid}", "object": "chat.completion.chunk", "choices": [{"delta": {"content": \n\n`)
      }
      const text = i > 0 || continuation ? ` ${words[i]}` : words[i]!
      await sse(chunk({ content: text }))
      sent += 1
      if (timing.tokenIntervalMs > 0) await sleep(timing.tokenIntervalMs)
    }
    await sse(chunk({}, "stop"))
    if (includeUsage) {
      await sse(
        chunk(
          {},
          null,
          { prompt_tokens: promptTokens, completion_tokens: sent, total_tokens: promptTokens + sent },
          false,
        ),
      )
    }
    if (mode === "no_done") entry.action = "200 stream complete, [DONE] omitted"
    else {
      await sse("data: [DONE]\n\n")
      entry.action ??= "200 stream"
    }
    res.end()
  }

  const chat = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    let body: ChatBody
    try {
      body = JSON.parse(raw.length > 0 ? raw.toString("utf8") : "{}") as ChatBody
    } catch {
      return sendError(res, 400, "Request body is not valid JSON", "invalid_request_error", null)
    }
    const headerModel = req.headers["x-fb-model"]
    const model = String((typeof headerModel === "string" && headerModel) || body.model || "")
    const tag = tagFor(model)
    const stream = Boolean(body.stream)
    const messages: NonNullable<ChatBody["messages"]> = Array.isArray(body.messages) ? body.messages : []
    const last = messages.at(-1) ?? {}
    const lastRole = typeof last.role === "string" ? last.role : undefined
    const includeUsage = Boolean(body.stream_options?.include_usage)
    const attempt = (counts.get(model) ?? 0) + 1
    counts.set(model, attempt)
    seq += 1
    const requestId = req.headers["x-request-id"] ?? req.headers["x-fb-run"]
    const entry: WallAttempt = {
      t: now(),
      model,
      tag,
      attempt,
      stream,
      lastRole,
      prefill: lastRole === "assistant" && typeof last.content === "string" ? last.content : undefined,
      requestId: typeof requestId === "string" ? requestId : undefined,
      auth: req.headers.authorization !== undefined,
      action: undefined,
      promptTokens: undefined,
      clientGaveUpAt: undefined,
    }
    entries.push(entry)

    if (tag === undefined) {
      entry.action = "404 model_not_found"
      return sendError(
        res,
        404,
        `The model \`${model}\` does not exist`,
        "invalid_request_error",
        "model_not_found",
        {},
        "model",
      )
    }
    const behaviour = WALL_BEHAVIOURS[tag]!

    // Prefill continuation: an assistant message last, whose content is a prefix of the canonical
    // answer, gets the remainder (like a real provider that supports prefill); anything else the
    // whole answer. The remainder is split on whitespace and each token sent with a leading space,
    // so a prefill that ends inside a word is continued as the wall does (" way earns …").
    let words: ReadonlyArray<string> = WORDS
    let continuation = false
    if (lastRole === "assistant") {
      const content = last.content ?? ""
      if (typeof content !== "string") {
        // The Python wall calls `.strip()` on it, fails and drops the connection unanswered.
        entry.action = "wall-error"
        return hangUp(res)
      }
      const partial = content.trim()
      if (behaviour === "ok_noprefill") {
        entry.action = "400 prefill_rejected"
        return sendError(
          res,
          400,
          "This model does not support assistant message prefill. The conversation must end with a user message.",
          "invalid_request_error",
          "invalid_prefill",
          {},
          "messages",
        )
      }
      if (partial !== "" && CANONICAL_ANSWER.startsWith(partial)) {
        words = CANONICAL_ANSWER.slice(partial.length)
          .split(/\s+/)
          .filter((w) => w !== "")
        continuation = true
      }
    }

    const promptTokens = messages.reduce((sum: number, m) => {
      const text: string =
        m.content === undefined || m.content === null
          ? ""
          : typeof m.content === "string"
            ? m.content
            : JSON.stringify(m.content)
      return sum + text.split(/\s+/).filter((w) => w !== "").length + 4
    }, 0)
    entry.promptTokens = promptTokens

    switch (behaviour) {
      case "429_retry_after_once":
        if (attempt === 1) {
          entry.action = `429 retry-after=${g(timing.retryAfterS)}`
          return sendError(
            res,
            429,
            `Rate limit reached for ${model}. Please retry after ${g(timing.retryAfterS)} seconds.`,
            "rate_limit_error",
            "rate_limit_exceeded",
            { "Retry-After": String(Math.trunc(timing.retryAfterS)) },
          )
        }
        break
      case "429_persistent":
        entry.action = "429"
        return sendError(res, 429, `Rate limit reached for ${model}.`, "rate_limit_error", "rate_limit_exceeded")
      case "500_once":
        if (attempt === 1) {
          entry.action = "500"
          return sendError(res, 500, "The server had an error while processing your request.", "server_error", null)
        }
        break
      case "503_persistent":
        entry.action = "503"
        return sendError(
          res,
          503,
          "The engine is currently overloaded. Please try again later.",
          "server_error",
          "overloaded",
        )
      case "reset_once":
        if (attempt === 1) {
          entry.action = "tcp-reset"
          return req.socket.resetAndDestroy()
        }
        break
      case "no_response": {
        entry.action = `no-response ${g(timing.noResponseMs / 1000)}s`
        entry.clientGaveUpAt = await waitOrClientGone(res, timing.noResponseMs)
        return hangUp(res)
      }
      case "context_length":
        entry.action = "400 context_length_exceeded"
        return sendError(
          res,
          400,
          "This model's maximum context length is 8192 tokens. However, your messages resulted in 9631 tokens. Please reduce the length of the messages.",
          "invalid_request_error",
          "context_length_exceeded",
          {},
          "messages",
        )
      case "content_filter":
        entry.action = "400 content_policy_violation"
        return sendError(
          res,
          400,
          "Your request was rejected as a result of our safety system.",
          "invalid_request_error",
          "content_policy_violation",
        )
      case "flap":
        if (now() < timing.flapDownMs / 1000) {
          entry.action = "503 (down window)"
          return sendError(
            res,
            503,
            "The engine is currently overloaded. Please try again later.",
            "server_error",
            "overloaded",
          )
        }
        entry.action = "200 (recovered)"
        break
      default:
        break
    }

    const mode: Mode =
      behaviour === "slow_ttft"
        ? "slow"
        : behaviour === "stream_cut"
          ? "cut"
          : behaviour === "stream_stall"
            ? "stall"
            : behaviour === "malformed_chunk"
              ? "malformed"
              : behaviour === "no_done"
                ? "no_done"
                : "ok"
    return stream
      ? streamAnswer(res, model, words, continuation, mode, includeUsage, promptTokens, entry)
      : plainAnswer(res, model, words, continuation, mode, promptTokens, entry)
  }

  const dispatch = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const path = (req.url ?? "/").split("?", 1)[0]!
    if (req.method === "POST" && path.endsWith("/chat/completions")) return chat(req, res, raw)
    if (req.method === "GET" && path.endsWith("/models")) {
      const data = Object.keys(WALL_BEHAVIOURS).map((t) => ({
        id: `fb-${t}`,
        object: "model",
        created: startedAt,
        owned_by: "failoverbench",
      }))
      return sendJson(res, 200, { object: "list", data })
    }
    if (path === "/" || path === "/health" || path === "/control/health")
      return sendJson(res, 200, { ok: true, wall: "0.1.0", t: now() })
    return sendError(res, 404, `No route for ${req.method} ${path}`, "invalid_request_error", null)
  }

  const server = createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (part: Buffer) => parts.push(part))
    req.on("error", () => undefined)
    req.on("end", () => {
      dispatch(req, res, Buffer.concat(parts)).catch(() => {
        // Never let one bad request kill the wall: drop the connection, as wall.py does.
        entries.push({
          t: now(),
          model: "",
          tag: undefined,
          attempt: 0,
          stream: false,
          lastRole: undefined,
          prefill: undefined,
          requestId: undefined,
          auth: false,
          action: "wall-error",
          promptTokens: undefined,
          clientGaveUpAt: undefined,
        })
        hangUp(res)
      })
    })
  })
  // The Python wall keeps idle connections 75 s; Node's 5 s default would close pooled
  // connections under the gateway and turn reuse races into spurious resets.
  server.keepAliveTimeout = 75_000
  server.headersTimeout = 80_000
  server.requestTimeout = 0
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("error", () => undefined)
    socket.once("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    timing,
    reset: () => {
      t0 = performance.now()
      entries = []
      counts = new Map()
      seq = 0
    },
    log: () => entries,
    attemptsFor: (model) => entries.filter((e) => tagKey(e.model) === tagKey(model)),
    now,
    close: async () => {
      closing.abort()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
