/**
 * Zero-delay OpenAI- and Anthropic-compatible upstream for the benchmark, in its own process.
 *
 *   POST /v1/chat/completions   JSON answer, or SSE when the body says `"stream": true`
 *   POST /v1/messages           Anthropic Messages answer (JSON, or SSE when `"stream": true`)
 *   GET  /v1/models             one model
 *
 * Streamed answers carry BENCH_CHUNKS (default 32) content chunks, preceded by the role chunk and
 * followed by the finish chunk, the usage chunk (when `stream_options.include_usage`) and
 * `[DONE]`. A streamed Anthropic answer follows the Messages event grammar, each frame with its
 * `event:` line: message_start, content_block_start, ping, BENCH_CHUNKS × content_block_delta
 * (text_delta), content_block_stop, message_delta (stop_reason + usage.output_tokens),
 * message_stop. Anthropic requests need `x-api-key`, `anthropic-version`, `max_tokens` and
 * `messages` (401/400 otherwise, as the real API answers). Frames are written one by one, each on its own turn of the event loop
 * (`setImmediate`), so a client sees them arrive as a real streaming upstream sends them — with no
 * artificial delay. Everything is precomputed; the only per-request work is reading and parsing
 * the body (as any upstream does).
 *
 * Prints `{"port": N}` on stdout once listening on 127.0.0.1 (BENCH_UPSTREAM_PORT, default 0).
 */
import { createServer } from "node:http"

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? "32")
const MODEL = "gpt-4o-mini"
const created = Math.floor(Date.now() / 1000)

const words = Array.from({ length: CHUNKS }, (_, i) => `tok${i} `)

const jsonAnswer = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created,
  model: MODEL,
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: words.join(""), refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: "stop",
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: CHUNKS, total_tokens: 12 + CHUNKS },
  service_tier: "default",
  system_fingerprint: "fp_bench",
})
const jsonBytes = Buffer.from(jsonAnswer)

const chunk = (delta: Record<string, unknown>, finish: string | null, usage: boolean): string =>
  `data: ${JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created,
    model: MODEL,
    system_fingerprint: "fp_bench",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(usage ? { usage: null } : {}),
  })}\n\n`

const framesFor = (usage: boolean): Array<Buffer> => {
  const frames = [chunk({ role: "assistant", content: "", refusal: null }, null, usage)]
  for (const w of words) frames.push(chunk({ content: w }, null, usage))
  frames.push(chunk({}, "stop", usage))
  if (usage)
    frames.push(
      `data: ${JSON.stringify({
        id: "chatcmpl-bench",
        object: "chat.completion.chunk",
        created,
        model: MODEL,
        system_fingerprint: "fp_bench",
        choices: [],
        usage: { prompt_tokens: 12, completion_tokens: CHUNKS, total_tokens: 12 + CHUNKS },
      })}\n\n`,
    )
  frames.push("data: [DONE]\n\n")
  return frames.map((f) => Buffer.from(f))
}
const sseWithUsage = framesFor(true)
const sseWithoutUsage = framesFor(false)

// ---- Anthropic Messages

const ANTHROPIC_MODEL = "claude-bench"

const anthropicJson = Buffer.from(
  JSON.stringify({
    id: "msg_bench",
    type: "message",
    role: "assistant",
    model: ANTHROPIC_MODEL,
    content: [{ type: "text", text: words.join("") }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: CHUNKS },
  }),
)

const event = (type: string, body: Record<string, unknown>): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`

const anthropicFrames: Array<Buffer> = [
  event("message_start", {
    message: {
      id: "msg_bench",
      type: "message",
      role: "assistant",
      model: ANTHROPIC_MODEL,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 1 },
    },
  }),
  event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
  event("ping", {}),
  ...words.map((w) => event("content_block_delta", { index: 0, delta: { type: "text_delta", text: w } })),
  event("content_block_stop", { index: 0 }),
  event("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: CHUNKS } }),
  event("message_stop", {}),
].map((f) => Buffer.from(f))

const anthropicError = (type: string, message: string) => JSON.stringify({ type: "error", error: { type, message } })

const models = Buffer.from(
  JSON.stringify({ object: "list", data: [{ id: MODEL, object: "model", created, owned_by: "bench" }] }),
)

const server = createServer({ keepAlive: true, noDelay: true, keepAliveTimeout: 120_000 }, (req, res) => {
  if (req.method === "GET") {
    req.resume()
    if (req.url?.startsWith("/v1/models")) {
      res.writeHead(200, { "content-type": "application/json", "content-length": models.length })
      res.end(models)
    } else {
      res.writeHead(404, { "content-type": "application/json" })
      res.end('{"error":{"message":"not found"}}')
    }
    return
  }
  const anthropic = req.url?.startsWith("/v1/messages") === true
  const parts: Array<Buffer> = []
  req.on("data", (c: Buffer) => parts.push(c))
  req.on("error", () => {})
  req.on("end", () => {
    let body: {
      stream?: unknown
      stream_options?: { include_usage?: unknown }
      max_tokens?: unknown
      messages?: unknown
    } = {}
    try {
      body = JSON.parse(Buffer.concat(parts).toString("utf8"))
    } catch {
      res.writeHead(400, { "content-type": "application/json" })
      res.end(
        anthropic
          ? anthropicError("invalid_request_error", "invalid json")
          : '{"error":{"message":"invalid json","type":"invalid_request_error"}}',
      )
      return
    }
    if (anthropic) {
      if (typeof req.headers["x-api-key"] !== "string" || typeof req.headers["anthropic-version"] !== "string") {
        res.writeHead(401, { "content-type": "application/json" })
        res.end(anthropicError("authentication_error", "x-api-key and anthropic-version are required"))
        return
      }
      if (typeof body.max_tokens !== "number" || !Array.isArray(body.messages)) {
        res.writeHead(400, { "content-type": "application/json" })
        res.end(anthropicError("invalid_request_error", "max_tokens and messages are required"))
        return
      }
    }
    if (body.stream !== true) {
      const bytes = anthropic ? anthropicJson : jsonBytes
      res.writeHead(200, { "content-type": "application/json", "content-length": bytes.length })
      res.end(bytes)
      return
    }
    const frames = anthropic
      ? anthropicFrames
      : body.stream_options?.include_usage === true
        ? sseWithUsage
        : sseWithoutUsage
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" })
    let i = 0
    const next = (): void => {
      if (res.destroyed) return
      if (i === frames.length - 1) {
        res.end(frames[i])
        return
      }
      res.write(frames[i++])
      setImmediate(next)
    }
    next()
  })
})

server.listen(Number(process.env.BENCH_UPSTREAM_PORT ?? "0"), "127.0.0.1", () => {
  const address = server.address()
  const port = typeof address === "object" && address ? address.port : 0
  process.stdout.write(`${JSON.stringify({ port })}\n`)
})

const stop = () => server.close(() => process.exit(0))
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
