/**
 * The bundled mock provider: a scriptable fake LLM provider for `npm run demo` (src/Demo.ts), the
 * tests and the benchmarks. Plain `node:http` on 127.0.0.1 (ephemeral port unless `port`,
 * keep-alive), speaking each provider's real wire format:
 *
 *   OpenAI     POST /v1/chat/completions · POST /v1/responses · POST /v1/embeddings · GET /v1/models[/{id}]
 *              POST /v1/completions · /v1/moderations · /v1/images/generations · /v1/audio/speech
 *              POST /v1/audio/transcriptions · /v1/audio/translations (multipart, read with busboy)
 *              GET/DELETE /v1/responses/{id} · GET …/input_items · POST …/cancel (its own Responses store)
 *   Anthropic  POST /v1/messages · POST /v1/messages/count_tokens · GET /v1/models (with `anthropic-version`)
 *   Gemini     POST /v1beta/models/{model}:generateContent | :streamGenerateContent?alt=sse | :countTokens |
 *              :embedContent | :batchEmbedContents · GET /v1beta/models[/{id}]
 *
 * Default answer: `Hello from mock: <last user text>`, split into `chunkCount` stream chunks; a tool
 * call (`location: "Paris"`) when tools are offered and the last user message says "weather".
 * Answers are deterministic (ids from a per-server counter, token counts estimated from lengths).
 * Faults and answers are scripted per request with `Behaviour` (see Behaviour.ts): in code, or
 * over HTTP with `controlRoutes` (`POST /mock/script`, see ControlRoutes.ts).
 *
 *   const mock = await startMockProvider()
 *   mock.script({ status: 503 }, { cutAfterChunks: 2, match: { path: "/v1/chat/completions" } })
 *   const openai = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: "x", maxRetries: 0 })
 *   // … then inspect mock.received (method, path, headers, body, model, aborted, …)
 *   await mock.close()
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { anthropicErrorBody, anthropicModels, handleMessages } from "./Anthropic.js"
import type { Behaviour, BehaviourFn, BehaviourMatch, Dialect, ReceivedRequest } from "./Behaviour.js"
import { type MockControls, serveControl } from "./ControlRoutes.js"
import { handleGeminiEmbeddings, handleOpenAiEmbeddings } from "./Embeddings.js"
import { type Exchange, sendJson } from "./Exchange.js"
import { geminiErrorBody, geminiModel, geminiModels, handleGenerateContent } from "./Gemini.js"
import { field, handleAudioUpload, parseForm } from "./OpenAIAudioUpload.js"
import { handleChatCompletions } from "./OpenAIChat.js"
import { openAIErrorBody } from "./OpenAIErrors.js"
import { openAIModel, openAIModels } from "./OpenAIModels.js"
import { handleCompletions, handleImages, handleModerations, handleSpeech } from "./OpenAIPassThrough.js"
import { handleResponses } from "./OpenAIResponses.js"
import { type MockResponsesStore, serveStored } from "./ResponsesStore.js"

export type {
  Behaviour,
  BehaviourFn,
  BehaviourMatch,
  Dialect,
  FinishReason,
  ReceivedRequest,
  ToolCallSpec,
  UsageSpec,
} from "./Behaviour.js"
export { contextLengthExceeded } from "./Behaviour.js"

export interface MockProviderOptions {
  /** Models listed by every models endpoint (default: one per vendor). */
  readonly models?: ReadonlyArray<string>
  /** Answer 404 (model not found, in the dialect's shape) for models not in `models`. */
  readonly strictModels?: boolean
  /** When set, requests must carry one of these keys (Bearer, x-api-key, x-goog-api-key or ?key=). */
  readonly apiKeys?: ReadonlyArray<string>
  /** Default number of chunks a streamed answer is split into (default 4). */
  readonly chunkCount?: number
  /** Keep request entries in `received` (default true; turn off for long benchmarks). */
  readonly record?: boolean
  /** Listen port (default 0 = ephemeral). */
  readonly port?: number
  /** Read request bodies slowly: a pause of this many ms after each chunk (a slow upstream for uploads). */
  readonly readPauseMs?: number
  /** Serve fault injection over HTTP under `/mock/` (see ControlRoutes.ts; default false). */
  readonly controlRoutes?: boolean
}

export interface MockProvider {
  /** `http://127.0.0.1:PORT` (no trailing slash, no `/v1`). */
  readonly url: string
  readonly port: number
  /** Requests in arrival order (cleared in place by `reset()`). */
  readonly received: Array<ReceivedRequest>
  /** Requests received since start or the last `reset()` (counted even with `record: false`). */
  readonly count: number
  /** Queue behaviours, each consumed by the next request it matches (FIFO). */
  script(...behaviours: Array<Behaviour>): void
  /** Behaviour for requests no queued entry matches (e.g. `{ status: 503 }` forever); `undefined` clears it. */
  setDefault(behaviour: Behaviour | BehaviourFn | undefined): void
  /** Queued behaviours not consumed yet. */
  pending(): number
  /** Responses stored by `POST /v1/responses` (with `store` true, the default), by id. */
  readonly responses: MockResponsesStore
  /** Clears the queue, the default, `received`, `count` and the stored responses. */
  reset(): void
  /** Resolves once `predicate` holds (checked when a request's body is parsed and when it closes). */
  waitFor(predicate: (mock: MockProvider) => boolean, timeoutMs?: number): Promise<void>
  /** Stops the server, destroying open sockets (hung and stalled requests included). */
  close(): Promise<void>
}

const DEFAULT_MODELS = ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"]

const GEMINI_PATH =
  /^\/(v1beta|v1|v1alpha)\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents)$/

const GEMINI_MODELS = /^\/(v1beta|v1|v1alpha)\/models\/?$/
const GEMINI_MODEL = /^\/(?:v1beta|v1|v1alpha)\/models\/([^/:]+)$/

const dialectOf = (method: string, path: string, headers: IncomingMessage["headers"]): Dialect => {
  if (path.startsWith("/v1beta/") || path.startsWith("/v1alpha/") || path.includes(":")) return "gemini"
  if (path.startsWith("/v1/messages")) return "anthropic"
  if (method === "GET" && path.startsWith("/v1/models") && headers["anthropic-version"] !== undefined)
    return "anthropic"
  return "openai"
}

const errorBody = (dialect: Dialect, status: number, message?: string): unknown => {
  switch (dialect) {
    case "openai":
      return openAIErrorBody(status, message)
    case "anthropic":
      return anthropicErrorBody(status, message)
    case "gemini":
      return geminiErrorBody(status, message)
  }
}

const matches = (m: BehaviourMatch | undefined, entry: ReceivedRequest): boolean => {
  if (!m) return true
  if (m.path !== undefined && !(typeof m.path === "string" ? m.path === entry.path : m.path.test(entry.path)))
    return false
  if (m.model !== undefined) {
    if (entry.model === undefined) return false
    if (typeof m.model === "string" ? m.model !== entry.model : !m.model.test(entry.model)) return false
  }
  return true
}

const presentedKey = (req: IncomingMessage, url: string): string | undefined => {
  const auth = req.headers.authorization
  if (auth?.startsWith("Bearer ")) return auth.slice(7)
  const k = req.headers["x-api-key"] ?? req.headers["x-goog-api-key"]
  if (typeof k === "string") return k
  const q = url.indexOf("?")
  return q >= 0 ? (new URLSearchParams(url.slice(q + 1)).get("key") ?? undefined) : undefined
}

export const startMockProvider = async (options: MockProviderOptions = {}): Promise<MockProvider> => {
  const models = options.models ?? DEFAULT_MODELS
  const modelSet = new Set(models)
  const chunkCount = options.chunkCount ?? 4
  const record = options.record ?? true
  const apiKeys = options.apiKeys ? new Set(options.apiKeys) : undefined

  const queue: Array<Behaviour> = []
  let fallback: Behaviour | BehaviourFn | undefined
  const received: Array<ReceivedRequest> = []
  const responses: MockResponsesStore = new Map()
  let count = 0
  let seq = 0
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const waiters = new Set<() => void>()

  const notify = () => {
    if (waiters.size > 0) for (const w of [...waiters]) w()
  }
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t)
      f()
    }, ms)
    timers.add(t)
  }

  const pick = (entry: ReceivedRequest): Behaviour | undefined => {
    for (let i = 0; i < queue.length; i++) {
      if (matches(queue[i]!.match, entry)) return queue.splice(i, 1)[0]
    }
    return typeof fallback === "function" ? fallback(entry) : fallback
  }

  const route = (ex: Exchange): void => {
    const { entry } = ex
    const { method, path } = entry
    const model = entry.model ?? ""
    if (method === "POST" && path === "/v1/chat/completions") return handleChatCompletions(ex, model)
    if (method === "POST" && path === "/v1/responses") return handleResponses(ex, model, responses)
    if (entry.dialect === "openai" && serveStored(ex, responses)) return
    if (method === "POST" && path === "/v1/messages") return handleMessages(ex, model)
    if (method === "POST" && path === "/v1/embeddings") return handleOpenAiEmbeddings(ex, model)
    if (method === "POST" && path === "/v1/completions") return handleCompletions(ex, model)
    if (method === "POST" && path === "/v1/moderations") return handleModerations(ex, model)
    if (method === "POST" && path === "/v1/images/generations") return handleImages(ex)
    if (method === "POST" && path === "/v1/audio/speech") return handleSpeech(ex)
    if (method === "POST" && (path === "/v1/audio/transcriptions" || path === "/v1/audio/translations")) {
      const form = entry.form
      if (typeof form !== "object")
        return sendJson(ex, 400, openAIErrorBody(400, form ?? "expected a multipart/form-data body"))
      return handleAudioUpload(ex, path.endsWith("translations") ? "translations" : "transcriptions", form)
    }
    if (method === "POST" && path === "/v1/messages/count_tokens")
      return sendJson(ex, 200, { input_tokens: Math.max(1, Math.ceil(ex.bodyLength / 4)) })
    if (entry.dialect === "gemini") {
      const m = GEMINI_PATH.exec(path)
      if (method === "POST" && m?.[3] === "countTokens")
        return sendJson(ex, 200, { totalTokens: Math.max(1, Math.ceil(ex.bodyLength / 4)) })
      if (method === "POST" && m?.[3] === "batchEmbedContents") return handleGeminiEmbeddings(ex, model, true)
      if (method === "POST" && m?.[3] === "embedContent") return handleGeminiEmbeddings(ex, model, false)
      if (method === "POST" && m) return handleGenerateContent(ex, model, m[3] === "streamGenerateContent")
      if (method === "GET" && GEMINI_MODELS.test(path)) return sendJson(ex, 200, geminiModels(models))
      const one = method === "GET" ? GEMINI_MODEL.exec(path) : null
      if (one) {
        const id = decodeURIComponent(one[1]!)
        return modelSet.has(id)
          ? sendJson(ex, 200, geminiModel(id))
          : sendJson(ex, 404, geminiErrorBody(404, `models/${id} is not found for API version v1beta`))
      }
    }
    if (method === "GET" && path === "/v1/models")
      return sendJson(ex, 200, entry.dialect === "anthropic" ? anthropicModels(models) : openAIModels(models))
    if (method === "GET" && path.startsWith("/v1/models/")) {
      const id = decodeURIComponent(path.slice("/v1/models/".length))
      if (!modelSet.has(id)) return sendJson(ex, 404, errorBody(entry.dialect, 404, `The model '${id}' does not exist`))
      return sendJson(ex, 200, entry.dialect === "anthropic" ? anthropicModels([id]).data[0] : openAIModel(id))
    }
    sendJson(ex, 404, errorBody(entry.dialect, 404, `Unknown route ${method} ${path}`))
  }

  const serve = (
    req: IncomingMessage,
    res: ServerResponse,
    entry: ReceivedRequest,
    state: { faulted: boolean },
    raw: Buffer,
  ): void => {
    let json: any
    if (entry.form !== undefined) {
      if (typeof entry.form === "object") entry.model = field(entry.form, "model")
    } else if (raw.length > 0) {
      const text = raw.toString("utf8")
      try {
        json = JSON.parse(text)
        entry.body = json
      } catch {
        entry.body = text
      }
    }
    if (entry.dialect === "gemini") {
      const m = GEMINI_PATH.exec(entry.path)
      if (m) entry.model = decodeURIComponent(m[2]!)
    } else if (typeof json?.model === "string") entry.model = json.model

    const behaviour = pick(entry)
    entry.behaviour = behaviour
    notify()
    const ex: Exchange = {
      req,
      res,
      entry,
      json,
      bodyLength: raw.length,
      seq: ++seq,
      behaviour: behaviour ?? {},
      chunkCount,
      models,
      later,
      markFaulted: () => {
        state.faulted = true
      },
    }
    if (behaviour?.reset) {
      state.faulted = true
      req.socket.destroy()
      return
    }
    if (behaviour?.hang) return
    const respond = () => {
      if (res.destroyed) return
      if (apiKeys) {
        const key = presentedKey(req, entry.url)
        if (key === undefined || !apiKeys.has(key))
          return sendJson(ex, 401, errorBody(entry.dialect, 401, behaviour?.errorMessage))
      }
      if (behaviour && (behaviour.status !== undefined || behaviour.body !== undefined)) {
        const status = behaviour.status ?? 200
        return sendJson(
          ex,
          status,
          behaviour.body !== undefined ? behaviour.body : errorBody(entry.dialect, status, behaviour.errorMessage),
        )
      }
      if (options.strictModels && entry.model !== undefined && !modelSet.has(entry.model))
        return sendJson(ex, 404, errorBody(entry.dialect, 404, `The model '${entry.model}' does not exist`))
      route(ex)
    }
    if (behaviour?.delayMs !== undefined && behaviour.delayMs > 0) later(behaviour.delayMs, respond)
    else respond()
  }

  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    const url = req.url ?? "/"
    const q = url.indexOf("?")
    const path = q >= 0 ? url.slice(0, q) : url
    const method = req.method ?? "GET"
    if (options.controlRoutes && path.startsWith("/mock/")) return serveControl(req, res, path, controls)
    count++
    const entry: ReceivedRequest = {
      n: count,
      method,
      path,
      url,
      headers: req.headers,
      body: undefined,
      model: undefined,
      dialect: dialectOf(method, path, req.headers),
      at: Date.now(),
      aborted: false,
      finished: false,
      behaviour: undefined,
    }
    if (record) received.push(entry)
    const state = { faulted: false }
    res.on("close", () => {
      if (res.writableFinished) entry.finished = true
      else if (!state.faulted) entry.aborted = true
      notify()
    })
    const parts: Array<Buffer> = []
    req.on("data", (c: Buffer) => {
      parts.push(c)
      if (options.readPauseMs !== undefined) {
        req.pause()
        later(options.readPauseMs, () => req.resume())
      }
    })
    req.on("end", () => {
      const raw = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
      const type = req.headers["content-type"]
      if (!type?.toLowerCase().startsWith("multipart/form-data")) return serve(req, res, entry, state, raw)
      entry.raw = raw
      void parseForm(type, raw).then((form) => {
        entry.form = form
        serve(req, res, entry, state, raw)
      })
    })
    req.on("error", () => {})
  })
  server.keepAliveTimeout = 60_000
  server.on("connection", (s: Socket) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })

  const controls: MockControls = {
    script: (...behaviours) => {
      queue.push(...behaviours)
    },
    setDefault: (b) => {
      fallback = b
    },
    reset: () => {
      queue.length = 0
      fallback = undefined
      received.length = 0
      responses.clear()
      count = 0
    },
    state: () => ({ requests: count, pending: queue.length }),
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === "object" && address ? address.port : 0

  const mock: MockProvider = {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    responses,
    get count() {
      return count
    },
    script: controls.script,
    setDefault: (b) => {
      fallback = b
    },
    pending: () => queue.length,
    reset: controls.reset,
    waitFor: (predicate, timeoutMs = 5_000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate(mock)) return resolve()
        const check = () => {
          if (predicate(mock)) {
            cleanup()
            resolve()
          }
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`MockProvider.waitFor: condition not met within ${timeoutMs}ms`))
        }, timeoutMs)
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t)
        timers.clear()
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
  return mock
}
