import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import { parseGatewayFile } from "../../../src/config/GatewayFile.js"
import { ConversationContext } from "../../../src/conversation/ConversationContext.js"
import { ResponseStore } from "../../../src/conversation/ResponseStore.js"
import { Secrets } from "../../../src/crypto/Secrets.js"
import { Gateway, type GatewayAnswer, type GatewayRequest } from "../../../src/gateway/Gateway.js"
import { Pricing } from "../../../src/gateway/Pricing.js"
import type { LiveStream } from "../../../src/gateway/StreamCommit.js"
import type { Principal } from "../../../src/identity/Principal.js"
import { RateLimit } from "../../../src/identity/RateLimit.js"
import { Metrics } from "../../../src/metrics/Metrics.js"
import { applyGatewayFile } from "../../../src/registry/GatewayFileImport.js"
import { ProviderRegistry } from "../../../src/registry/ProviderRegistry.js"
import { CircuitBreaker } from "../../../src/routing/CircuitBreaker.js"
import { KeyPool } from "../../../src/routing/KeyPool.js"
import { Router } from "../../../src/routing/Router.js"
import { ProviderRepository } from "../../../src/storage/ProviderRepository.js"
import { ModelCatalog } from "../../../src/upstream/ModelCatalog.js"
import type { UpstreamRequest } from "../../../src/upstream/UpstreamClient.js"
import * as UpstreamMemory from "../../../src/upstream/UpstreamMemory.js"
import { Budgets } from "../../../src/usage/Budgets.js"
import { RequestLogWriter } from "../../../src/usage/RequestLogWriter.js"
import { UsageLedger } from "../../../src/usage/UsageLedger.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { TestDatabase } from "../../support/TestDatabase.js"
import { TestKv } from "../../support/TestKv.js"

/**
 * The Gateway service (resolve, plan, call, fail over, commit, rescue) over the in-memory
 * upstream layer: the same services App.ts composes, the embedded (or DATABASE_URL / REDIS_URL)
 * storage, and providers whose answers are scripted per provider id. No socket is opened, so
 * each case states exactly what every provider answered and what reached the client.
 */

/** What each provider answers: its script, given the request and how many it has had before. */
const scripts = new Map<string, (request: UpstreamRequest, call: number) => UpstreamMemory.MemoryAnswer>()
/** Every request each provider received, in order. */
const received = new Map<string, Array<UpstreamRequest>>()

const handler: UpstreamMemory.MemoryHandler = (request) => {
  const seen = received.get(request.provider.id) ?? []
  received.set(request.provider.id, seen)
  seen.push(request)
  const script = scripts.get(request.provider.id)
  return script === undefined ? UpstreamMemory.unreachable("connect") : script(request, seen.length - 1)
}

const requestsTo = (provider: string) => received.get(provider) ?? []

const provider = (id: string, model: string) => ({
  id,
  protocol: "openai",
  base_url: `https://${id}.upstream.test/api`,
  keys: [{ value: `sk-${id}-0123456789abcdef` }],
  models: [model],
})

const FILE = JSON.stringify({
  providers: [
    provider("solo", "solo-model"),
    provider("flaky", "flaky-model"),
    provider("steady", "steady-model"),
    provider("cutter", "cutter-model"),
    provider("rescuer", "rescuer-model"),
  ],
  logical_models: [
    { id: "chat-solo", upstreams: [{ provider: "solo", model: "solo-model" }] },
    {
      id: "chat-failover",
      upstreams: [
        { provider: "flaky", model: "flaky-model", priority: 0 },
        { provider: "steady", model: "steady-model", priority: 1 },
      ],
    },
    {
      id: "chat-rescue",
      upstreams: [
        { provider: "cutter", model: "cutter-model", priority: 0 },
        { provider: "rescuer", model: "rescuer-model", priority: 1 },
      ],
    },
  ],
})

/** The services App.ts composes for the data plane, over the memory upstream instead of undici. */
const TestLayer = Gateway.Default.pipe(
  Layer.provideMerge(Budgets.Default),
  Layer.provideMerge(
    Layer.mergeAll(
      ModelCatalog.Default,
      Router.Default,
      KeyPool.Default,
      ConversationContext.Default,
      ResponseStore.Default,
      RateLimit.Default,
      UsageLedger.Default,
      Pricing.Default,
      Metrics.Default.pipe(Layer.provide(Layer.mergeAll(CircuitBreaker.Default, RequestLogWriter.Default))),
    ),
  ),
  Layer.provideMerge(ProviderRegistry.Default),
  Layer.provideMerge(ProviderRepository.Default),
  Layer.provideMerge(Layer.mergeAll(TestDatabase, TestKv, Secrets.Default, UpstreamMemory.layer(handler))),
  Layer.provideMerge(testConfigLayer()),
)

/** The providers file, written to the database and loaded into the registry. */
const loadProviders = Effect.gen(function* () {
  const file = yield* parseGatewayFile(FILE, { file: "gateway.json" })
  yield* applyGatewayFile(file, "gateway.json")
  yield* (yield* ProviderRegistry).reload
})

const principal: Principal = {
  kind: "api_key",
  userId: null,
  username: "tester",
  isSuperuser: false,
  apiKeyId: null,
  allowedProviderIds: null,
  limits: { requestsPerMinute: null, tokensPerMinute: null },
}

const chatRequest = (
  model: string,
  stream: boolean,
  dialect: GatewayRequest["dialect"] = "openai-chat",
): GatewayRequest => ({
  dialect,
  model,
  stream,
  principal,
  body:
    dialect === "anthropic"
      ? { model, max_tokens: 100, stream, messages: [{ role: "user", content: "Tell me about foxes." }] }
      : { model, stream, messages: [{ role: "user", content: "Tell me about foxes." }] },
})

const completion = (content: string) => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "upstream-model",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
})

/** OpenAI chat SSE frames of an answer arriving in `pieces`, finished unless `unfinished`. */
const chunkFrames = (pieces: ReadonlyArray<string>, unfinished = false): Array<string> => {
  const frame = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "upstream-model", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
  const frames = [frame({ role: "assistant", content: "" }, null), ...pieces.map((content) => frame({ content }, null))]
  return unfinished ? frames : [...frames, frame({}, "stop"), "data: [DONE]\n\n"]
}

/** Relays a committed stream into a sink, as the HTTP edge does, and returns everything the client got. */
const readStream = (stream: LiveStream) =>
  Effect.async<string>((resume) => {
    let text = ""
    stream.relayTo({
      write: (piece) => {
        text += piece
        return true
      },
      end: () => resume(Effect.succeed(text)),
      once: () => undefined,
    })
  })

/** The `data:` payloads of an SSE text, parsed (`[DONE]` kept as a string). */
const events = (sse: string): Array<Record<string, any> | string> =>
  sse
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => line.slice(6))
    .map((data) => (data === "[DONE]" ? data : (JSON.parse(data) as Record<string, any>)))

/** The text an OpenAI chat client reads from a stream. */
const chatText = (sse: string) =>
  events(sse)
    .map((e) => (typeof e === "string" ? "" : (e.choices?.[0]?.delta?.content ?? "")))
    .join("")

const streamOf = (answer: GatewayAnswer): LiveStream => {
  if (answer._tag !== "Stream") throw new Error(`expected a stream, got ${answer._tag}`)
  return answer.stream
}

const FULL = "The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun."

describe("Gateway over the in-memory upstream", () => {
  it.layer(TestLayer, { timeout: 120_000 })((it) => {
    it.effect("answers JSON: the provider's own model id sent under its base URL, its answer relayed", () =>
      Effect.gen(function* () {
        yield* loadProviders
        scripts.set("solo", () => UpstreamMemory.json(completion("Foxes are small omnivores.")))
        const gateway = yield* Gateway
        const answer = yield* gateway.handle(chatRequest("chat-solo", false))

        expect(answer._tag).toBe("Json")
        expect(answer.served).toEqual({ provider: "solo", model: "solo-model", attempts: 1 })
        const body = JSON.parse(answer._tag === "Json" ? answer.body : "{}")
        expect(body.choices[0].message.content).toBe("Foxes are small omnivores.")
        expect(body.usage.total_tokens).toBe(12)

        const [sent] = requestsTo("solo")
        expect(sent!.url).toBe("https://solo.upstream.test/api/v1/chat/completions")
        expect(sent!.stream).toBe(false)
        expect(JSON.parse(sent!.body as string).model).toBe("solo-model")
      }),
    )

    it.effect(
      "streams, transcoded: an Anthropic client reads the OpenAI provider's chunks as one complete message",
      () =>
        Effect.gen(function* () {
          yield* loadProviders
          scripts.set("solo", () => UpstreamMemory.sse(chunkFrames(["The quick ", "brown fox", "."])))
          const gateway = yield* Gateway
          const answer = yield* gateway.handle(chatRequest("chat-solo", true, "anthropic"))
          const sse = yield* readStream(streamOf(answer))

          const parsed = events(sse).filter((e): e is Record<string, any> => typeof e !== "string")
          const text = parsed
            .filter((e) => e.type === "content_block_delta")
            .map((e) => e.delta.text)
            .join("")
          expect(text).toBe("The quick brown fox.")
          expect(parsed.at(-1)?.type).toBe("message_stop")
          expect(parsed.some((e) => e.type === "error")).toBe(false)
          expect(requestsTo("solo").at(-1)!.stream).toBe(true)
        }),
    )

    it.effect(
      "relays a client error at once: the provider's 400 and message, the key it echoed redacted, no retry",
      () =>
        Effect.gen(function* () {
          yield* loadProviders
          const before = requestsTo("solo").length
          scripts.set("solo", (request) =>
            UpstreamMemory.status(400, {
              error: {
                message: `messages.0.content: too long for key ${Redacted.value(request.key.secret)}`,
                type: "invalid_request_error",
              },
            }),
          )
          const gateway = yield* Gateway
          const error = yield* Effect.flip(gateway.handle(chatRequest("chat-solo", false)))

          // The provider's own error, as the edge writes it in the client's dialect.
          expect(error._tag).toBe("UpstreamStatusError")
          if (error._tag !== "UpstreamStatusError") return
          expect(error.provider).toBe("solo")
          expect(error.status).toBe(400)
          expect(error.errorType).toBe("invalid_request_error")
          expect(error.message).toBe("messages.0.content: too long for key [redacted]")
          expect(requestsTo("solo").length).toBe(before + 1)
        }),
    )

    it.effect(
      "fails over: a provider answering 503 is retried with backoff (on the test clock), then the next tier answers",
      () =>
        Effect.gen(function* () {
          yield* loadProviders
          scripts.set("flaky", () =>
            UpstreamMemory.status(503, { error: { message: "overloaded", type: "server_error" } }),
          )
          scripts.set("steady", () => UpstreamMemory.json(completion("Steady answer.")))
          const gateway = yield* Gateway
          const fiber = yield* Effect.fork(gateway.handle(chatRequest("chat-failover", false)))
          // The backoff sleeps are on the Effect clock: move it until the request is done (the
          // memory upstream settles its promises between ticks; nothing waits for real time).
          for (let i = 0; i < 200 && (yield* Fiber.poll(fiber))._tag === "None"; i++) {
            yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
            yield* TestClock.adjust("100 millis")
          }
          const answer = yield* Fiber.join(fiber)

          const flakyCalls = requestsTo("flaky").length
          expect(flakyCalls).toBeGreaterThan(1)
          expect(answer.served).toEqual({ provider: "steady", model: "steady-model", attempts: flakyCalls + 1 })
          expect(JSON.parse(answer._tag === "Json" ? answer.body : "{}").choices[0].message.content).toBe(
            "Steady answer.",
          )
        }),
    )

    it.effect(
      "rescues mid-stream: a stream cut after its first words is continued by the next tier, the client reads one whole answer",
      () =>
        Effect.gen(function* () {
          yield* loadProviders
          scripts.set("cutter", () =>
            UpstreamMemory.sse(chunkFrames(["The quick brown ", "fox jumps"], true), { cut: "reset" }),
          )
          scripts.set("rescuer", () =>
            UpstreamMemory.sse(chunkFrames([FULL.slice(0, 30), FULL.slice(30, 55), FULL.slice(55)])),
          )
          const gateway = yield* Gateway
          const answer = yield* gateway.handle(chatRequest("chat-rescue", true))
          expect(answer.served.provider).toBe("cutter")
          const sse = yield* readStream(streamOf(answer))

          expect(chatText(sse)).toBe(FULL)
          expect(events(sse).at(-1)).toBe("[DONE]")
          expect(sse).not.toContain("upstream_stream_error")
          expect(requestsTo("cutter")).toHaveLength(1)
          expect(requestsTo("rescuer")).toHaveLength(1)
        }),
    )

    it.effect("without a rescuer, a cut stream ends with the in-band error, never as a complete answer", () =>
      Effect.gen(function* () {
        yield* loadProviders
        scripts.set("solo", () => UpstreamMemory.sse(chunkFrames(["The quick brown ", "fox"], true), { cut: "reset" }))
        const gateway = yield* Gateway
        // `chat-solo` has one upstream, so a rescue could only ask it again: make that fail too.
        const before = requestsTo("solo").length
        const answer = yield* gateway.handle(chatRequest("chat-solo", true))
        scripts.set("solo", () => UpstreamMemory.unreachable("connect"))
        const fiber = yield* Effect.fork(readStream(streamOf(answer)))
        for (let i = 0; i < 200 && (yield* Fiber.poll(fiber))._tag === "None"; i++) {
          yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
          yield* TestClock.adjust("100 millis")
        }
        const sse = yield* Fiber.join(fiber)

        expect(chatText(sse)).toBe("The quick brown fox")
        expect(sse).toContain("upstream_stream_error")
        expect(events(sse)).not.toContain("[DONE]")
        expect(requestsTo("solo").length).toBeGreaterThan(before)
      }),
    )
  })
})
