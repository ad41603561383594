import { randomBytes } from "node:crypto"
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import {
  CLIENT_KIND,
  type OtlpReceiver,
  type ReceivedSpan,
  SERVER_KIND,
  STATUS_ERROR,
  startOtlpReceiver,
} from "../support/OtlpReceiver.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Traces (README "Traces"): with an OTLP endpoint set, each data-plane request is a server span
 * with one client span per upstream call beneath it, exported to an in-process OTLP/HTTP receiver;
 * the client's W3C traceparent is continued and each upstream call carries its own span's.
 */

const hex = (bytes: number) => randomBytes(bytes).toString("hex")
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/

const providersFile = (a: MockProvider, b: MockProvider) => ({
  providers: [
    { id: "alpha", protocol: "openai", base_url: a.url, keys: [{ value: "sk-alpha-secret" }], models: ["m-alpha"] },
    { id: "beta", protocol: "openai", base_url: b.url, keys: [{ value: "sk-beta-secret" }], models: ["m-beta"] },
  ],
  logical_models: [
    {
      id: "traced",
      retries: 0,
      rescue: false,
      upstreams: [
        { provider: "alpha", model: "m-alpha", priority: 0 },
        { provider: "beta", model: "m-beta", priority: 1 },
      ],
    },
    {
      id: "rescued",
      retries: 0,
      upstreams: [
        { provider: "alpha", model: "m-alpha", priority: 0 },
        { provider: "beta", model: "m-beta", priority: 1 },
      ],
    },
  ],
})

const headerOf = (value: string | string[] | undefined) => (typeof value === "string" ? value : undefined)

describe("traces over OTLP/HTTP", () => {
  let otlp: OtlpReceiver
  let alpha: MockProvider
  let beta: MockProvider
  let gateway: TestGateway
  let client: OpenAI

  const serverSpans = (traceId?: string) => (spans: ReadonlyArray<ReceivedSpan>) =>
    spans.filter((s) => s.kind === SERVER_KIND && (traceId === undefined || s.traceId === traceId))
  const childrenOf = (parent: ReceivedSpan) => (spans: ReadonlyArray<ReceivedSpan>) =>
    spans
      .filter(
        (s) =>
          s.parentSpanId === parent.spanId && s.kind === CLIENT_KIND && s.attributes["apiproxy.attempt"] !== undefined,
      )
      .sort((x, y) => Number(x.attributes["apiproxy.attempt"]) - Number(y.attributes["apiproxy.attempt"]))

  beforeAll(async () => {
    otlp = await startOtlpReceiver()
    alpha = await startMockProvider({ models: ["m-alpha"] })
    beta = await startMockProvider({ models: ["m-beta"] })
    gateway = await startTestGateway({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_HEADERS: "x-collector-token=t%20ok",
        OTEL_SERVICE_NAME: "apiproxy-e2e",
        OTEL_BSP_SCHEDULE_DELAY: "20",
        CIRCUIT_FAILURE_THRESHOLD: "1000",
      },
      gatewayFile: providersFile(alpha, beta),
    })
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
  })

  afterAll(async () => {
    await gateway?.close()
    await alpha?.close()
    await beta?.close()
    await otlp?.close()
  })

  beforeEach(() => {
    alpha.reset()
    beta.reset()
  })

  it("a failed-over request: one server span continuing the client's trace, two attempt spans, each attempt's traceparent upstream", async () => {
    const traceId = hex(16)
    const clientSpanId = hex(8)
    alpha.script({ status: 503 })
    beta.script({ text: "the answer", usage: { inputTokens: 11, outputTokens: 7 } })
    const completion = await client.chat.completions.create(
      { model: "traced", messages: [{ role: "user", content: "hi" }] },
      {
        headers: {
          traceparent: `00-${traceId}-${clientSpanId}-01`,
          tracestate: "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7",
        },
      },
    )
    expect(completion.choices[0]!.message.content).toBe("the answer")

    const [server] = await otlp.waitFor(serverSpans(traceId), 1)
    expect(server!.parentSpanId).toBe(clientSpanId)
    expect(server!.name).toBe("POST /v1/chat/completions")
    expect(server!.resource["service.name"]).toBe("apiproxy-e2e")
    expect(server!.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/v1/chat/completions",
      "http.response.status_code": 200,
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "traced",
      "gen_ai.request.stream": false,
      "apiproxy.provider": "beta",
      "apiproxy.model": "m-beta",
      "apiproxy.attempts": 2,
    })
    expect(server!.status.code).not.toBe(STATUS_ERROR)

    const [first, second] = await otlp.waitFor(childrenOf(server!), 2)
    expect(first!.traceId).toBe(traceId)
    expect(first!.name).toBe("chat m-alpha")
    expect(first!.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.system": "openai",
      "gen_ai.request.model": "m-alpha",
      "apiproxy.provider": "alpha",
      "apiproxy.attempt": 1,
      "http.response.status_code": 503,
      "error.type": "503",
      "server.address": "127.0.0.1",
    })
    expect(first!.status.code).toBe(STATUS_ERROR)
    expect(second!.name).toBe("chat m-beta")
    expect(second!.attributes).toMatchObject({
      "gen_ai.request.model": "m-beta",
      "gen_ai.response.model": "m-beta",
      "gen_ai.usage.input_tokens": 11,
      "gen_ai.usage.output_tokens": 7,
      "gen_ai.response.finish_reasons": ["stop"],
      "apiproxy.provider": "beta",
      "apiproxy.attempt": 2,
    })
    expect(second!.attributes["error.type"]).toBeUndefined()
    expect(second!.status.code).not.toBe(STATUS_ERROR)
    // Both attempts lie within the request's span.
    for (const attempt of [first!, second!]) {
      expect(attempt.startNanos >= server!.startNanos && attempt.endNanos <= server!.endNanos).toBe(true)
    }

    // Each provider was called with its own attempt's span as the parent, the client's tracestate kept.
    const sentToAlpha = headerOf(alpha.received[0]!.headers.traceparent)
    const sentToBeta = headerOf(beta.received[0]!.headers.traceparent)
    expect(sentToAlpha).toBe(`00-${traceId}-${first!.spanId}-01`)
    expect(sentToBeta).toBe(`00-${traceId}-${second!.spanId}-01`)
    expect(alpha.received[0]!.headers.tracestate).toBe("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
    // The exporter sent the configured headers, percent-decoded.
    expect(otlp.exports.at(-1)!["x-collector-token"]).toBe("t ok")
  })

  it("a streamed request: the server span ends with the stream, complete; the attempt span carries usage and time to first chunk", async () => {
    const traceId = hex(16)
    beta.script({
      text: "one two three four",
      chunkCount: 4,
      chunkDelayMs: 120,
      usage: { inputTokens: 5, outputTokens: 4 },
    })
    alpha.script({ status: 503 })
    const started = process.hrtime.bigint()
    const stream = await client.chat.completions.create(
      {
        model: "traced",
        messages: [{ role: "user", content: "stream please" }],
        stream: true,
        stream_options: { include_usage: true },
      },
      { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } },
    )
    let text = ""
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
    const streamMs = Number(process.hrtime.bigint() - started) / 1e6
    expect(text).toBe("one two three four")

    const [server] = await otlp.waitFor(serverSpans(traceId), 1)
    expect(server!.attributes).toMatchObject({
      "gen_ai.request.stream": true,
      "apiproxy.stream.outcome": "complete",
      "http.response.status_code": 200,
    })
    const [, answered] = await otlp.waitFor(childrenOf(server!), 2)
    expect(answered!.attributes).toMatchObject({
      "apiproxy.stream.outcome": "complete",
      "gen_ai.usage.input_tokens": 5,
      "gen_ai.usage.output_tokens": 4,
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.response.model": "m-beta",
    })
    // Committed at the first chunk, yet both spans last as long as the stream (the chunks are 120 ms apart).
    const firstChunkSeconds = answered!.attributes["gen_ai.response.time_to_first_chunk"] as number
    const serverMs = Number(server!.endNanos - server!.startNanos) / 1e6
    const attemptMs = Number(answered!.endNanos - answered!.startNanos) / 1e6
    expect(firstChunkSeconds * 1000).toBeLessThan(serverMs - 250)
    expect(serverMs).toBeGreaterThan(350)
    expect(attemptMs).toBeGreaterThan(350)
    expect(serverMs).toBeLessThanOrEqual(streamMs + 50)
  })

  it("a stream cut after commit (no rescue): both spans say cut and failed", async () => {
    const traceId = hex(16)
    alpha.script({ cutAfterChunks: 2, chunkCount: 4 })
    const stream = await client.chat.completions.create(
      { model: "traced", messages: [{ role: "user", content: "cut me" }], stream: true },
      { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } },
    )
    await expect(
      (async () => {
        for await (const _ of stream) void _
      })(),
    ).rejects.toThrow()
    const [server] = await otlp.waitFor(serverSpans(traceId), 1)
    expect(server!.attributes["apiproxy.stream.outcome"]).toBe("cut")
    expect(server!.status.code).toBe(STATUS_ERROR)
    const [attempt] = await otlp.waitFor(childrenOf(server!), 1)
    expect(attempt!.attributes).toMatchObject({
      "apiproxy.stream.outcome": "cut",
      "error.type": "stream_broken",
      "apiproxy.provider": "alpha",
    })
    expect(attempt!.status.code).toBe(STATUS_ERROR)
  })

  it("a stream rescued mid-way: the broken part says rescued, the continuation is a span of its own with its own traceparent, the request completes", async () => {
    const traceId = hex(16)
    alpha.script({ cutAfterChunks: 3, chunkCount: 6 })
    const stream = await client.chat.completions.create(
      { model: "rescued", messages: [{ role: "user", content: "rescue me" }], stream: true },
      { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } },
    )
    let text = ""
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
    expect(text).toBe("Hello from mock: rescue me")

    const [server] = await otlp.waitFor(serverSpans(traceId), 1)
    expect(server!.attributes["apiproxy.stream.outcome"]).toBe("complete")
    expect(server!.status.code).not.toBe(STATUS_ERROR)
    const [broken] = await otlp.waitFor(childrenOf(server!), 1)
    expect(broken!.attributes).toMatchObject({
      "apiproxy.provider": "alpha",
      "apiproxy.stream.outcome": "rescued",
      "error.type": "stream_broken",
    })
    const [continuation] = await otlp.waitFor(
      (spans) =>
        spans.filter((s) => s.parentSpanId === server!.spanId && s.attributes["apiproxy.rescue"] !== undefined),
      1,
    )
    expect(continuation!.name).toBe("chat m-beta")
    expect(continuation!.attributes).toMatchObject({
      "apiproxy.rescue": "restart",
      "apiproxy.provider": "beta",
      "apiproxy.stream.outcome": "complete",
      "gen_ai.request.stream": true,
    })
    expect(beta.received[0]!.headers.traceparent).toBe(`00-${traceId}-${continuation!.spanId}-01`)
  })

  it("a hostile or malformed traceparent is ignored: the request starts its own trace and the upstream gets that one", async () => {
    const hostile: ReadonlyArray<ReadonlyArray<string>> = [
      [`00-${"0".repeat(32)}-${hex(8)}-01`],
      [`00-${hex(16)}-${"0".repeat(16)}-01`],
      [`00-${hex(16).toUpperCase()}-${hex(8)}-01`],
      [`ff-${hex(16)}-${hex(8)}-01`],
      [`00-${hex(16)}-${hex(8)}-01-extra`],
      [`00-${hex(16)}-${hex(8)}-1`],
      [`00-${hex(16)}-${hex(8)}-01`, `00-${hex(16)}-${hex(8)}-01`],
      ["x".repeat(10_000)],
    ]
    for (const values of hostile) {
      beta.reset()
      const requestId = `hostile-${hex(4)}`
      const headers = new Headers({
        authorization: `Bearer ${gateway.masterKey}`,
        "content-type": "application/json",
        "x-request-id": requestId,
        tracestate: "a=b",
      })
      for (const value of values) headers.append("traceparent", value)
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: "beta/m-beta", messages: [{ role: "user", content: "hi" }] }),
      })
      expect(response.status).toBe(200)
      const [server] = await otlp.waitFor(
        (spans) => spans.filter((s) => s.kind === SERVER_KIND && s.attributes["apiproxy.request_id"] === requestId),
        1,
      )
      expect(server!.parentSpanId).toBe("")
      expect(values.join()).not.toContain(server!.traceId)
      const sent = TRACEPARENT.exec(headerOf(beta.received[0]!.headers.traceparent) ?? "")
      expect(sent?.[1]).toBe(server!.traceId)
      expect(beta.received[0]!.headers.tracestate).toBeUndefined()
    }
  })

  it("a malformed tracestate is dropped while a good traceparent is kept", async () => {
    const traceId = hex(16)
    await client.chat.completions.create(
      { model: "beta/m-beta", messages: [{ role: "user", content: "hi" }] },
      { headers: { traceparent: `00-${traceId}-${hex(8)}-01`, tracestate: "Bad Key=1,ok=2" } },
    )
    const [server] = await otlp.waitFor(serverSpans(traceId), 1)
    expect(server!.traceId).toBe(traceId)
    expect(beta.received[0]!.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-`))
    expect(beta.received[0]!.headers.tracestate).toBeUndefined()
  })

  it("a client's unsampled trace stays unsampled: nothing exported, the flag passed on upstream", async () => {
    const traceId = hex(16)
    await client.chat.completions.create(
      { model: "beta/m-beta", messages: [{ role: "user", content: "hi" }] },
      { headers: { traceparent: `00-${traceId}-${hex(8)}-00` } },
    )
    expect(beta.received[0]!.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`))
    // A later sampled request's spans arrive; the unsampled one's never do.
    const later = hex(16)
    await client.chat.completions.create(
      { model: "beta/m-beta", messages: [{ role: "user", content: "hi" }] },
      { headers: { traceparent: `00-${later}-${hex(8)}-01` } },
    )
    await otlp.waitFor(serverSpans(later), 1)
    expect(otlp.spans.filter((s) => s.traceId === traceId)).toEqual([])
  })

  it("an error answered before any upstream call is a server span with the status and the error type, and no attempt span", async () => {
    const traceId = hex(16)
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: "Bearer not-a-key",
        "content-type": "application/json",
        traceparent: `00-${traceId}-${hex(8)}-01`,
      },
      body: JSON.stringify({ model: "traced", messages: [{ role: "user", content: "hi" }] }),
    })
    expect(response.status).toBe(401)
    const [server] = await otlp.waitFor(serverSpans(traceId), 1)
    expect(server!.attributes["http.response.status_code"]).toBe(401)
    expect(typeof server!.attributes["error.type"]).toBe("string")
    // A client error is not the server's failure.
    expect(server!.status.code).not.toBe(STATUS_ERROR)
    expect(childrenOf(server!)(otlp.spans)).toEqual([])
  })

  it("the management API and model routes are not traced, and answer as before", async () => {
    const before = otlp.spans.length
    const models = await fetch(`${gateway.url}/v1/models`, {
      headers: { authorization: `Bearer ${gateway.masterKey}` },
    })
    expect(models.status).toBe(200)
    const health = await fetch(`${gateway.url}/health`)
    expect(health.status).toBe(200)
    // Flush by a traced request: everything exported before it is in.
    const traceId = hex(16)
    await client.chat.completions.create(
      { model: "beta/m-beta", messages: [{ role: "user", content: "hi" }] },
      { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } },
    )
    await otlp.waitFor(serverSpans(traceId), 1)
    expect(otlp.spans.slice(before).filter((s) => s.traceId !== traceId)).toEqual([])
  })
})

describe("tracing off", () => {
  it("OTEL_SDK_DISABLED with an endpoint set: no spans exported, no trace headers sent upstream, even when the client sent some", async () => {
    const otlp = await startOtlpReceiver()
    const alpha = await startMockProvider({ models: ["m-alpha"] })
    const beta = await startMockProvider({ models: ["m-beta"] })
    const gateway = await startTestGateway({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_SDK_DISABLED: "true", OTEL_BSP_SCHEDULE_DELAY: "20" },
      gatewayFile: providersFile(alpha, beta),
    })
    try {
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
      alpha.script({ status: 503 })
      const traceparent = `00-${hex(16)}-${hex(8)}-01`
      const completion = await client.chat.completions.create(
        { model: "traced", messages: [{ role: "user", content: "hi" }] },
        { headers: { traceparent, tracestate: "a=b" } },
      )
      expect(completion.choices[0]!.message.content).toContain("Hello from mock")
      const stream = await client.chat.completions.create(
        { model: "traced", messages: [{ role: "user", content: "hi" }], stream: true },
        { headers: { traceparent } },
      )
      for await (const _ of stream) void _
      expect(alpha.received.length + beta.received.length).toBe(3)
      for (const received of [...alpha.received, ...beta.received]) {
        expect(received.headers.traceparent).toBeUndefined()
        expect(received.headers.tracestate).toBeUndefined()
      }
      // Longer than many export rounds would take.
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(otlp.exports).toEqual([])
      expect(gateway.logs.some((line) => line.includes("tracing on"))).toBe(false)
    } finally {
      await gateway.close()
      await alpha.close()
      await beta.close()
      await otlp.close()
    }
  })

  it("a collector that is down costs requests nothing: they succeed, and a warning says the export failed", async () => {
    const otlp = await startOtlpReceiver()
    const gone = otlp.url
    await otlp.close()
    const beta = await startMockProvider({ models: ["m-beta"] })
    const gateway = await startTestGateway({
      env: {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${gone}/v1/traces`,
        OTEL_BSP_SCHEDULE_DELAY: "20",
        OTEL_EXPORTER_OTLP_TIMEOUT: "300",
      },
      gatewayFile: {
        providers: [
          {
            id: "beta",
            protocol: "openai",
            base_url: beta.url,
            keys: [{ value: "sk-beta-secret" }],
            models: ["m-beta"],
          },
        ],
      },
    })
    try {
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
      for (let i = 0; i < 3; i++) {
        const completion = await client.chat.completions.create({
          model: "m-beta",
          messages: [{ role: "user", content: `hi ${i}` }],
        })
        expect(completion.choices[0]!.message.content).toContain("Hello from mock")
      }
      expect(beta.received[0]!.headers.traceparent).toMatch(TRACEPARENT)
      const deadline = Date.now() + 5_000
      while (!gateway.logs.some((line) => line.includes("could not export spans")) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50))
      expect(gateway.logs.filter((line) => line.includes("could not export spans"))).toHaveLength(1)
    } finally {
      await gateway.close()
      await beta.close()
    }
  })
})
