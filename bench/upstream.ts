/**
 * Zero-delay OpenAI-compatible upstream for the benchmark, in its own process.
 *
 *   POST /v1/chat/completions   JSON answer, or SSE when the body says `"stream": true`
 *   GET  /v1/models             one model
 *
 * Streamed answers carry BENCH_CHUNKS (default 32) content chunks, preceded by the role chunk and
 * followed by the finish chunk, the usage chunk (when `stream_options.include_usage`) and
 * `[DONE]`. Frames are written one by one, each on its own turn of the event loop
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

const models = Buffer.from(JSON.stringify({ object: "list", data: [{ id: MODEL, object: "model", created, owned_by: "bench" }] }))

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
  const parts: Array<Buffer> = []
  req.on("data", (c: Buffer) => parts.push(c))
  req.on("error", () => {})
  req.on("end", () => {
    let body: { stream?: unknown; stream_options?: { include_usage?: unknown } } = {}
    try {
      body = JSON.parse(Buffer.concat(parts).toString("utf8"))
    } catch {
      res.writeHead(400, { "content-type": "application/json" })
      res.end('{"error":{"message":"invalid json","type":"invalid_request_error"}}')
      return
    }
    if (body.stream !== true) {
      res.writeHead(200, { "content-type": "application/json", "content-length": jsonBytes.length })
      res.end(jsonBytes)
      return
    }
    const frames = body.stream_options?.include_usage === true ? sseWithUsage : sseWithoutUsage
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
