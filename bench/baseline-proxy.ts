/**
 * The baseline: a minimal reverse proxy on `node:http` + `undici`, in its own process. It
 * forwards `POST /v1/chat/completions` to BENCH_UPSTREAM (e.g. `http://127.0.0.1:4000`) over a
 * pooled keep-alive undici Agent, streaming the request body up and the response body (JSON or
 * SSE) down as it arrives. No auth, no parsing, no logging: what "just proxying" costs.
 *
 * Prints `{"port": N}` on stdout once listening on 127.0.0.1 (BENCH_BASELINE_PORT, default 0).
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import { pipeline } from "node:stream"
import { Agent, request } from "undici"

const upstream = process.env.BENCH_UPSTREAM
if (!upstream) throw new Error("BENCH_UPSTREAM is not set")

const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 256, headersTimeout: 0, bodyTimeout: 0 })

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
])

const forwardable = (headers: IncomingHttpHeaders | Record<string, string | Array<string> | undefined>) => {
  const out: Record<string, string | Array<string>> = {}
  for (const name in headers) {
    const value = headers[name]
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
  }
  return out
}

const server = createServer({ keepAlive: true, noDelay: true, keepAliveTimeout: 120_000 }, (req, res) => {
  if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
    req.resume()
    res.writeHead(404, { "content-type": "application/json" })
    res.end('{"error":{"message":"not found"}}')
    return
  }
  request(`${upstream}/v1/chat/completions`, {
    method: "POST",
    headers: forwardable(req.headers),
    body: req,
    dispatcher,
  }).then(
    (answer) => {
      res.writeHead(answer.statusCode, forwardable(answer.headers))
      pipeline(answer.body, res, () => {})
    },
    () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" })
      res.end('{"error":{"message":"bad gateway"}}')
    },
  )
})

server.listen(Number(process.env.BENCH_BASELINE_PORT ?? "0"), "127.0.0.1", () => {
  const address = server.address()
  const port = typeof address === "object" && address ? address.port : 0
  process.stdout.write(`${JSON.stringify({ port })}\n`)
})

const stop = () => server.close(() => process.exit(0))
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
