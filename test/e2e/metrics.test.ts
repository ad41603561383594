import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { type Exposition, parseExposition } from "../support/PrometheusText.js"
import { restrictedKey } from "../support/RestrictedKey.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * `GET /metrics` (issue 15 item 4), end to end: JSON, streamed, failed-over, rate-limited,
 * rescued and refused requests through the official OpenAI SDK against mock providers, then the
 * exposition read back and its counters compared with exactly what was sent; the exposition
 * parses line by line; METRICS=open / master / off.
 */

const CHAT = "/v1/chat/completions"

/** One provider per role, on two mock servers; each logical model names its upstreams. */
const gatewayFile = (primary: MockProvider, backup: MockProvider) => {
  const provider = (id: string, mock: MockProvider, model: string) => ({
    id,
    protocol: "openai",
    base_url: mock.url,
    keys: [{ value: `key-${id}` }],
    models: [model],
  })
  const withFallback = (id: string, provider: string, model: string) => ({
    id,
    upstreams: [
      { provider, model, priority: 0 },
      { provider: "fb-p", model: "gpt-fb", priority: 1 },
    ],
  })
  return {
    providers: [
      // Priced per million tokens: input $1, output $2 (cache reads at the input price).
      { ...provider("solo-p", primary, "solo-model"), prices: { "*": { input: 1, output: 2 } } },
      provider("main-p", primary, "gpt-main"),
      provider("lim-p", primary, "lim-model"),
      provider("cut-p", primary, "cut-model"),
      provider("tool-p", primary, "tool-model"),
      provider("fb-p", backup, "gpt-fb"),
    ],
    logical_models: [
      { id: "solo", upstreams: [{ provider: "solo-p", model: "solo-model" }] },
      withFallback("chat", "main-p", "gpt-main"),
      withFallback("lim", "lim-p", "lim-model"),
      withFallback("resc", "cut-p", "cut-model"),
      withFallback("tool", "tool-p", "tool-model"),
    ],
  }
}

/** The text of a streamed chat answer, read to its end. */
const streamedText = async (stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) => {
  let text = ""
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ""
  return text
}

const scrape = async (gateway: TestGateway, headers: Record<string, string> = {}) => {
  const response = await fetch(`${gateway.url}/metrics`, { headers })
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() }
}

describe("GET /metrics: counters match the requests sent (METRICS=open)", () => {
  let primary: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let openai: OpenAI

  /** The exposition once `ready` holds for it (the edge counts a request when its response has closed). */
  const metricsWhen = async (ready: (m: Exposition) => boolean): Promise<Exposition> => {
    const deadline = Date.now() + 5_000
    for (;;) {
      const { status, text } = await scrape(gateway)
      expect(status).toBe(200)
      const exposition = parseExposition(text)
      if (ready(exposition) || Date.now() > deadline) return exposition
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  const requests = (m: Exposition, model: string, provider: string, status: string) =>
    m.value("apiproxy_requests_total", { endpoint: CHAT, dialect: "openai-chat", model, provider, status })

  beforeAll(async () => {
    primary = await startMockProvider({ chunkCount: 6 })
    backup = await startMockProvider({ chunkCount: 6 })
    gateway = await startTestGateway({
      // One penalisable failure opens an upstream's circuit, and it stays open while the test reads it.
      env: {
        METRICS: "open",
        CIRCUIT_FAILURE_THRESHOLD: "1",
        CIRCUIT_COOLDOWN: "60 seconds",
        UPSTREAM_IDLE_TIMEOUT: "700 millis",
      },
      gatewayFile: gatewayFile(primary, backup),
    })
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
  })

  afterAll(async () => {
    await gateway?.close()
    await primary?.close()
    await backup?.close()
  })

  it("parses, with HELP and TYPE for every family, process and event-loop metrics, and nothing counted yet", async () => {
    const { status, type, text } = await scrape(gateway)
    expect(status).toBe(200)
    expect(type).toBe("text/plain; version=0.0.4; charset=utf-8")
    const m = parseExposition(text)
    expect(m.types.get("apiproxy_requests_total")).toBe("counter")
    expect(m.types.get("gen_ai_client_operation_duration_seconds")).toBe("histogram")
    expect(m.types.get("gen_ai_client_token_usage")).toBe("histogram")
    expect(m.types.get("gen_ai_server_time_to_first_token_seconds")).toBe("histogram")
    expect(m.types.get("apiproxy_circuit_state")).toBe("gauge")
    expect(m.value("process_cpu_user_seconds_total")).toBeGreaterThan(0)
    expect(m.value("nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0)
    expect(m.sum("apiproxy_requests_total")).toBe(0)
    expect(m.value("apiproxy_requests_in_flight")).toBe(0)
    expect(m.value("apiproxy_kv_primary_down")).toBe(0)
    // Every configured upstream and provider connection has its circuit, closed.
    expect(m.value("apiproxy_circuit_state", { scope: "upstream", provider: "solo-p", model: "solo-model" })).toBe(0)
    expect(m.value("apiproxy_circuit_state", { scope: "provider", provider: "fb-p", model: "" })).toBe(0)
  })

  it("a JSON and a streamed answer: requests, latency, first token, tokens, attempts", async () => {
    primary.script(
      { match: { model: "solo-model" }, usage: { inputTokens: 11, outputTokens: 7 } },
      { match: { model: "solo-model" }, usage: { inputTokens: 5, outputTokens: 3, cachedTokens: 2 } },
    )
    const json = await openai.chat.completions
      .create({ model: "solo", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(json.data.usage?.prompt_tokens).toBe(11)
    expect(json.response.headers.get("x-apiproxy-cost")).toBe("0.000025")
    const stream = await openai.chat.completions.create({
      model: "solo",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    })
    expect(await streamedText(stream)).toBe("Hello from mock: hi")

    const m = await metricsWhen((m) => requests(m, "solo", "solo-p", "200") === 2)
    expect(requests(m, "solo", "solo-p", "200")).toBe(2)
    const series = { endpoint: CHAT, model: "solo", provider: "solo-p" }
    expect(m.value("apiproxy_request_duration_seconds_count", series)).toBe(2)
    expect(m.value("apiproxy_time_to_first_token_seconds_count", series)).toBe(1)
    const genAi = {
      gen_ai_operation_name: "chat",
      gen_ai_system: "openai",
      gen_ai_request_model: "solo",
      gen_ai_response_model: "solo-model",
    }
    expect(m.value("gen_ai_client_operation_duration_seconds_count", { ...genAi, error_type: "" })).toBe(2)
    expect(m.value("gen_ai_server_time_to_first_token_seconds_count", genAi)).toBe(1)
    expect(m.value("gen_ai_client_token_usage_count", { ...genAi, gen_ai_token_type: "input" })).toBe(2)
    expect(m.value("gen_ai_client_token_usage_sum", { ...genAi, gen_ai_token_type: "input" })).toBe(16)
    expect(m.value("gen_ai_client_token_usage_sum", { ...genAi, gen_ai_token_type: "output" })).toBe(10)
    // 11 and 5 input tokens fall in the buckets up to 16; none is at most 4.
    expect(m.value("gen_ai_client_token_usage_bucket", { ...genAi, gen_ai_token_type: "input", le: "4" })).toBe(0)
    expect(m.value("gen_ai_client_token_usage_bucket", { ...genAi, gen_ai_token_type: "input", le: "16" })).toBe(2)
    const tokens = { provider: "solo-p", model: "solo-model" }
    expect(m.value("apiproxy_tokens_total", { ...tokens, type: "input" })).toBe(16)
    expect(m.value("apiproxy_tokens_total", { ...tokens, type: "output" })).toBe(10)
    expect(m.value("apiproxy_tokens_total", { ...tokens, type: "cached_input" })).toBe(2)
    // (11 + 5) × $1 + (7 + 3) × $2 per million tokens: what the two answers cost.
    expect(m.value("apiproxy_cost_usd_total", tokens)).toBeCloseTo(0.000036, 12)
    // An unpriced model costs nothing it could be summed with.
    expect(m.value("apiproxy_cost_usd_total", { provider: "fb-p", model: "gpt-fb" })).toBeUndefined()
    expect(m.value("apiproxy_upstream_attempts_total", { provider: "solo-p", outcome: "success" })).toBe(2)
    expect(m.value("apiproxy_requests_in_flight")).toBe(0)
    expect(m.value("apiproxy_streams_in_flight")).toBe(0)
  })

  it("a failed-over request: the failed attempt and the one that served, the circuit it opened", async () => {
    primary.script({ match: { model: "gpt-main" }, status: 503 })
    backup.script({ match: { model: "gpt-fb" }, usage: { inputTokens: 4, outputTokens: 6 } })
    const served = await openai.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(served.response.headers.get("x-apiproxy-provider")).toBe("fb-p")
    expect(served.response.headers.get("x-apiproxy-attempts")).toBe("2")

    const m = await metricsWhen((m) => requests(m, "chat", "fb-p", "200") === 1)
    expect(requests(m, "chat", "fb-p", "200")).toBe(1)
    expect(m.value("apiproxy_upstream_attempts_total", { provider: "main-p", outcome: "server_error" })).toBe(1)
    expect(m.value("apiproxy_upstream_attempts_total", { provider: "fb-p", outcome: "success" })).toBe(1)
    expect(m.value("apiproxy_tokens_total", { provider: "fb-p", model: "gpt-fb", type: "output" })).toBe(6)
    const genAi = {
      gen_ai_operation_name: "chat",
      gen_ai_system: "openai",
      gen_ai_request_model: "chat",
      gen_ai_response_model: "gpt-fb",
    }
    expect(m.value("gen_ai_client_operation_duration_seconds_count", { ...genAi, error_type: "" })).toBe(1)
    // The 503 opened the upstream's circuit (threshold 1); the provider's connection is fine.
    expect(m.value("apiproxy_circuit_state", { scope: "upstream", provider: "main-p", model: "gpt-main" })).toBe(2)
    expect(m.value("apiproxy_circuit_state", { scope: "provider", provider: "main-p", model: "" })).toBe(0)
    expect(m.value("apiproxy_key_backoffs_total", { provider: "main-p", kind: "retryable" })).toBeUndefined()
  })

  it("a rate-limited key is backed off; the request fails over", async () => {
    primary.script({ match: { model: "lim-model" }, status: 429, headers: { "retry-after": "30" } })
    const answer = await openai.chat.completions
      .create({ model: "lim", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(answer.response.headers.get("x-apiproxy-provider")).toBe("fb-p")

    const m = await metricsWhen((m) => requests(m, "lim", "fb-p", "200") === 1)
    expect(requests(m, "lim", "fb-p", "200")).toBe(1)
    expect(m.value("apiproxy_upstream_attempts_total", { provider: "lim-p", outcome: "rate_limited" })).toBe(1)
    expect(m.value("apiproxy_key_backoffs_total", { provider: "lim-p", kind: "retryable" })).toBe(1)
    expect(m.value("apiproxy_upstream_attempts_total", { provider: "fb-p", outcome: "success" })).toBe(2)
  })

  it("a stream cut after commit is rescued and counted once as a request", async () => {
    primary.script({ match: { model: "cut-model" }, cutAfterChunks: 3, usage: { inputTokens: 3, outputTokens: 2 } })
    const stream = await openai.chat.completions.create({
      model: "resc",
      messages: [{ role: "user", content: "tell me" }],
      stream: true,
    })
    expect(await streamedText(stream)).toBe("Hello from mock: tell me")

    const m = await metricsWhen((m) => requests(m, "resc", "cut-p", "200") === 1)
    expect(requests(m, "resc", "cut-p", "200")).toBe(1)
    expect(m.value("apiproxy_stream_rescues_total", { outcome: "rescued" })).toBe(1)
    expect(
      m.value("apiproxy_time_to_first_token_seconds_count", { endpoint: CHAT, model: "resc", provider: "cut-p" }),
    ).toBe(1)
    expect(m.value("apiproxy_streams_in_flight")).toBe(0)
  })

  it("a stream cut inside a tool call cannot be rescued: counted as not_possible, the request still as a 200 stream", async () => {
    primary.script({
      match: { model: "tool-model" },
      toolCalls: [{ name: "get_weather", arguments: { city: "Paris", days: 3 } }],
      chunkCount: 8,
      cutAfterChunks: 4,
    })
    const stream = await openai.chat.completions.create({
      model: "tool",
      messages: [{ role: "user", content: "weather?" }],
      stream: true,
    })
    await expect(streamedText(stream)).rejects.toBeInstanceOf(OpenAI.APIError)

    const m = await metricsWhen((m) => requests(m, "tool", "tool-p", "200") === 1)
    expect(requests(m, "tool", "tool-p", "200")).toBe(1)
    expect(m.value("apiproxy_stream_rescues_total", { outcome: "not_possible" })).toBe(1)
    expect(m.value("apiproxy_stream_rescues_total", { outcome: "rescued" })).toBe(1)
    expect(m.value("apiproxy_streams_in_flight")).toBe(0)
  })

  it("refused requests: a bad key (before the body is read) and an unknown model", async () => {
    const stranger = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "sk-not-a-key", maxRetries: 0 })
    await expect(
      stranger.chat.completions.create({ model: "solo", messages: [{ role: "user", content: "hi" }] }),
    ).rejects.toMatchObject({ status: 401 })
    // A model no one serves: its name is client input, labelled `other` (never a series of its own).
    await expect(
      openai.chat.completions.create({ model: "made-up-model-1234", messages: [{ role: "user", content: "hi" }] }),
    ).rejects.toMatchObject({
      status: 404,
    })

    const m = await metricsWhen(
      (m) => requests(m, "other", "none", "404") === 1 && requests(m, "none", "none", "401") === 1,
    )
    expect(requests(m, "none", "none", "401")).toBe(1)
    expect(requests(m, "other", "none", "404")).toBe(1)
    expect(m.samples.some((s) => Object.values(s.labels).includes("made-up-model-1234"))).toBe(false)
    // The bad key's request never named a model: no GenAI operation; the 404 did.
    expect(
      m.value("gen_ai_client_operation_duration_seconds_count", {
        gen_ai_operation_name: "chat",
        gen_ai_system: "_OTHER",
        gen_ai_request_model: "other",
        gen_ai_response_model: "none",
        error_type: "404",
      }),
    ).toBe(1)

    // Everything counted, once: 2 solo, 1 chat, 1 lim, 1 resc, 1 tool, 2 refused.
    expect(m.sum("apiproxy_requests_total")).toBe(8)
    expect(m.sum("apiproxy_requests_total", { status: "200" })).toBe(6)
    expect(m.value("apiproxy_requests_in_flight")).toBe(0)
  })

  it("the request log's rows: every authenticated request written (the bad key's is not logged), none dropped", async () => {
    const m = await metricsWhen((m) => m.value("apiproxy_request_log_written_total") === 7)
    expect(m.value("apiproxy_request_log_written_total")).toBe(7)
    expect(m.value("apiproxy_request_log_dropped_total")).toBe(0)
    expect(m.value("apiproxy_request_log_buffered_rows")).toBe(0)
  })
})

describe("GET /metrics access (METRICS=master, the default, and off)", () => {
  let mock: MockProvider
  let master: TestGateway
  let off: TestGateway

  beforeAll(async () => {
    mock = await startMockProvider()
    const file = {
      providers: [
        { id: "p", protocol: "openai", base_url: mock.url, keys: [{ value: "key-p" }], models: ["gpt-4o-mini"] },
      ],
    }
    master = await startTestGateway({ gatewayFile: file })
    off = await startTestGateway({ env: { METRICS: "off" }, gatewayFile: file })
  })

  afterAll(async () => {
    await master?.close()
    await off?.close()
    await mock?.close()
  })

  it("master: no credential 401, a user's API key 403, a wrong key 401, the master key 200", async () => {
    const missing = await scrape(master)
    expect(missing.status).toBe(401)
    expect(JSON.parse(missing.text)).toMatchObject({ error: { type: "authentication_error" } })
    expect((await scrape(master, { authorization: "Bearer sk-wrong" })).status).toBe(401)
    const userKey = await restrictedKey(master.url, master.masterKey, "scraper", [])
    const forbidden = await scrape(master, { authorization: `Bearer ${userKey}` })
    expect(forbidden.status).toBe(403)
    expect(forbidden.text).toContain("superuser")
    const allowed = await scrape(master, { authorization: `Bearer ${master.masterKey}` })
    expect(allowed.status).toBe(200)
    expect(parseExposition(allowed.text).types.get("apiproxy_requests_total")).toBe("counter")
  })

  it("off: 404 like any unknown path (GET and POST), and the data plane still answers", async () => {
    for (const method of ["GET", "POST"]) {
      const response = await fetch(`${off.url}/metrics`, { method })
      expect(response.status).toBe(404)
      expect(await response.json()).toMatchObject({ error: { code: "not_found" } })
    }
    const openai = new OpenAI({ baseURL: `${off.url}/v1`, apiKey: off.masterKey, maxRetries: 0 })
    const answer = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    })
    expect(answer.choices[0]?.message.content).toBe("Hello from mock: hi")
  })
})
