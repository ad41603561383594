import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type { Readable } from "node:stream"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import type { Provider } from "../../../src/registry/Provider.js"
import { LEAVES_BASE_URL, UpstreamClient, type UpstreamRequest } from "../../../src/upstream/UpstreamClient.js"
import * as UpstreamMemory from "../../../src/upstream/UpstreamMemory.js"
import * as UpstreamUndici from "../../../src/upstream/UpstreamUndici.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { makeProvider } from "../../unit/routing/fixtures.js"

/**
 * One contract, two layers: the in-memory `UpstreamClient` that unit tests build the gateway on
 * must answer as the live undici one does, or those tests prove nothing. Each case scripts the
 * provider's answer once; the memory layer plays it from its handler, the live layer receives it
 * from a loopback server that plays the same script over HTTP (a cut is a destroyed socket).
 */

interface Backend {
  readonly name: string
  readonly layer: Layer.Layer<UpstreamClient>
  /** The answer the provider gives next. */
  readonly script: (answer: UpstreamMemory.MemoryAnswer) => void
  /** Requests the provider has received so far. */
  readonly received: () => number
  readonly provider: Provider
  /** A provider whose address refuses connections. */
  readonly dead: Provider
}

const KEY = "sk-contract-0123456789abcdef"
const withKey = (provider: Provider): Provider => ({
  ...provider,
  keys: [{ ...provider.keys[0]!, secret: Redacted.make(KEY) }],
})

const memoryBackend = (): Backend => {
  let next: UpstreamMemory.MemoryAnswer = UpstreamMemory.unreachable()
  let count = 0
  return {
    name: "memory",
    layer: UpstreamMemory.layer((request) => {
      count++
      return request.provider.id === "dead" ? UpstreamMemory.unreachable("connect") : next
    }).pipe(Layer.provide(testConfigLayer()), Layer.orDie),
    script: (answer) => void (next = answer),
    received: () => count,
    provider: withKey(makeProvider("live", { baseUrl: "http://127.0.0.1:9/api" })),
    dead: withKey(makeProvider("dead", { baseUrl: "http://127.0.0.1:9/api" })),
  }
}

/** Writes `answer` as an HTTP response: its status, headers and chunks; a cut destroys the socket. */
const play = async (answer: UpstreamMemory.MemoryAnswer, response: http.ServerResponse) => {
  if (answer._tag === "Unreachable") return void response.socket?.destroy()
  response.writeHead(answer.status, answer.headers)
  const chunks = typeof answer.body === "string" ? [answer.body] : answer.body
  for await (const chunk of chunks) await new Promise<void>((resolve) => response.write(chunk, () => resolve()))
  if (answer.cut !== undefined) return void response.socket?.destroy()
  response.end()
}

const liveBackend = (): Backend => {
  let next: UpstreamMemory.MemoryAnswer = UpstreamMemory.unreachable()
  let count = 0
  let port = 0
  let deadPort = 0
  const server = Layer.scopedDiscard(
    Effect.gen(function* () {
      const listen = (handler?: http.RequestListener) =>
        Effect.acquireRelease(
          Effect.async<http.Server>((resume) => {
            const s = http.createServer(handler)
            s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
          }),
          (s) => Effect.async<void>((resume) => void s.close(() => resume(Effect.void)).closeAllConnections()),
        )
      const s = yield* listen((request, response) => {
        count++
        request.resume()
        request.on("end", () => void play(next, response))
      })
      port = (s.address() as AddressInfo).port
      // A port that was just free and is closed again: connecting to it is refused.
      const closed = http.createServer()
      yield* Effect.async<void>((resume) => void closed.listen(0, "127.0.0.1", () => resume(Effect.void)))
      deadPort = (closed.address() as AddressInfo).port
      yield* Effect.async<void>((resume) => void closed.close(() => resume(Effect.void)))
    }),
  )
  const backend: Backend = {
    name: "undici",
    layer: UpstreamUndici.layer.pipe(Layer.provideMerge(server), Layer.provide(testConfigLayer()), Layer.orDie),
    script: (answer) => void (next = answer),
    received: () => count,
    get provider() {
      return withKey(makeProvider("live", { baseUrl: `http://127.0.0.1:${port}/api` }))
    },
    get dead() {
      return withKey(makeProvider("dead", { baseUrl: `http://127.0.0.1:${deadPort}/api` }))
    },
  }
  return backend
}

const request = (provider: Provider, overrides: Partial<UpstreamRequest> = {}): UpstreamRequest => ({
  provider,
  key: provider.keys[0]!,
  model: "m",
  url: `${provider.baseUrl}/v1/chat/completions`,
  body: JSON.stringify({ model: "m", messages: [] }),
  stream: false,
  ...overrides,
})

/** Reads a stream body to its end: the text, or the error it broke with. */
const readBody = (body: Readable) =>
  Effect.async<{ readonly text: string; readonly error?: unknown }>((resume) => {
    let text = ""
    body.on("data", (chunk: Buffer) => void (text += chunk.toString("utf8")))
    body.on("end", () => resume(Effect.succeed({ text })))
    body.on("error", (error) => resume(Effect.succeed({ text, error })))
  })

const contract = (make: () => Backend) => {
  const backend = make()
  describe(`UpstreamClient contract: ${backend.name}`, () => {
    it.layer(backend.layer, { timeout: 30_000 })((it) => {
      it.effect("send reads a whole 2xx answer, headers with lower-case names", () =>
        Effect.gen(function* () {
          const client = yield* UpstreamClient
          backend.script(UpstreamMemory.json({ ok: true }, { headers: { "X-Upstream-Id": "abc" } }))
          const response = yield* client.send(request(backend.provider))
          expect(response.status).toBe(200)
          expect(JSON.parse(response.text)).toEqual({ ok: true })
          expect(response.headers["x-upstream-id"]).toBe("abc")
        }),
      )

      it.effect("an error answer fails with its status, message (the echoed key redacted) and Retry-After", () =>
        Effect.gen(function* () {
          const client = yield* UpstreamClient
          backend.script(
            UpstreamMemory.status(
              429,
              { error: { message: `slow down, ${KEY}`, type: "rate_limit_error" } },
              { "Retry-After": "2" },
            ),
          )
          for (const stream of [false, true]) {
            const error = stream
              ? yield* Effect.flip(client.open(request(backend.provider, { stream })))
              : yield* Effect.flip(client.send(request(backend.provider)))
            expect(error._tag).toBe("UpstreamStatusError")
            if (error._tag !== "UpstreamStatusError") return
            expect(error.status).toBe(429)
            expect(error.message).toBe("slow down, [redacted]")
            expect(error.errorType).toBe("rate_limit_error")
            expect(error.retryAfterMs).toBe(2000)
          }
        }),
      )

      it.effect("a URL outside the provider's base URL is refused with 400 and never sent", () =>
        Effect.gen(function* () {
          const client = yield* UpstreamClient
          backend.script(UpstreamMemory.json({ ok: true }))
          const before = backend.received()
          const outside = `${new URL(backend.provider.baseUrl).origin}/admin/../other`
          const error = yield* Effect.flip(client.send(request(backend.provider, { url: outside })))
          expect(error._tag).toBe("UpstreamStatusError")
          expect(error.message).toBe(LEAVES_BASE_URL)
          expect(backend.received()).toBe(before)
        }),
      )

      it.effect("open hands a 2xx stream over unread; its chunks arrive whole", () =>
        Effect.gen(function* () {
          const client = yield* UpstreamClient
          const chunks = ['data: {"a":1}\n\n', 'data: {"a":2}\n\n', "data: [DONE]\n\n"]
          backend.script(UpstreamMemory.sse(chunks))
          const stream = yield* client.open(request(backend.provider, { stream: true }))
          expect(stream.status).toBe(200)
          expect(stream.headers["content-type"]).toBe("text/event-stream")
          const read = yield* readBody(stream.body)
          expect(read.error).toBeUndefined()
          expect(read.text).toBe(chunks.join(""))
        }),
      )

      it.effect("a body cut after some chunks breaks with an error bodyError classifies as a reset", () =>
        Effect.gen(function* () {
          const client = yield* UpstreamClient
          backend.script(UpstreamMemory.sse(['data: {"a":1}\n\n'], { cut: "reset" }))
          const stream = yield* client.open(request(backend.provider, { stream: true }))
          const read = yield* readBody(stream.body)
          expect(read.text).toBe('data: {"a":1}\n\n')
          expect(read.error).toBeDefined()
          const failure = stream.bodyError(read.error)
          expect(failure.reason).toBe("reset")
          expect(failure.message).toMatch(/^upstream body broke: /)
        }),
      )

      it.effect("a refused connection fails as 'connect', 'upstream unreachable' (before any response byte)", () =>
        Effect.gen(function* () {
          const client = yield* UpstreamClient
          const error = yield* Effect.flip(client.send(request(backend.dead)))
          expect(error._tag).toBe("UpstreamTransportError")
          if (error._tag !== "UpstreamTransportError") return
          expect(error.reason).toBe("connect")
          expect(error.message).toMatch(/^upstream unreachable: /)
        }),
      )
    })
  })
}

contract(memoryBackend)
contract(liveBackend)
