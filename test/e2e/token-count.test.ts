import Anthropic from "@anthropic-ai/sdk"
import type { GoogleGenAI } from "@google/genai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { PROTOCOL_MODELS, protocolProviders, sdkClients } from "../support/ProtocolProviders.js"
import { restrictedKey } from "../support/RestrictedKey.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

const weather = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object" as const, properties: { location: { type: "string" } }, required: ["location"] },
}

/**
 * Issue 14 item 2: Anthropic `count_tokens` and Gemini `countTokens` through the official SDKs,
 * against each upstream protocol — passed to a provider that counts (converted when it speaks the
 * other dialect), estimated with o200k_base for one that cannot, failed over, and refused in the
 * client's dialect.
 */
describe("token counting", () => {
  let mock: MockProvider
  let gateway: TestGateway
  let anthropic: Anthropic
  let gemini: GoogleGenAI

  beforeAll(async () => {
    mock = await startMockProvider({ models: Object.values(PROTOCOL_MODELS) })
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "1000" },
      gatewayFile: {
        providers: protocolProviders(mock.url),
        logical_models: [
          {
            id: "counted",
            upstreams: [
              { provider: "claude", model: "claude-haiku-4-5", priority: 0 },
              { provider: "gem", model: "gemini-2.5-flash", priority: 1 },
            ],
          },
        ],
      },
    })
    ;({ anthropic, gemini } = sdkClients(gateway.url, gateway.masterKey))
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
  })

  beforeEach(() => mock.reset())

  const countAnthropic = (model: string, extra: Partial<Anthropic.MessageCountTokensParams> = {}) =>
    anthropic.messages
      .countTokens({
        model,
        system: "be brief",
        messages: [{ role: "user", content: "Hello, world" }],
        tools: [weather],
        ...extra,
      })
      .withResponse()

  describe("@anthropic-ai/sdk messages.countTokens", () => {
    it("Anthropic upstream: passed through with only the model replaced, the provider's count answered", async () => {
      mock.script({ match: { path: "/v1/messages/count_tokens" }, body: { input_tokens: 4242 } })
      const { data, response } = await countAnthropic("claude/claude-haiku-4-5")
      expect(data).toEqual({ input_tokens: 4242 })
      expect(response.headers.get("x-apiproxy-token-count")).toBe("provider")
      expect(response.headers.get("x-apiproxy-provider")).toBe("claude")
      const sent = mock.received[0]!
      expect([sent.path, sent.headers["x-api-key"]]).toEqual(["/v1/messages/count_tokens", "sk-ant-claude"])
      expect(sent.body).toEqual({
        model: "claude-haiku-4-5",
        system: "be brief",
        messages: [{ role: "user", content: "Hello, world" }],
        tools: [weather],
      })
    })

    it("the beta namespace, and ?beta=true as Claude Code sends it, are served the same way", async () => {
      mock.script({ match: { path: "/v1/messages/count_tokens" }, body: { input_tokens: 7 } })
      const beta = await anthropic.beta.messages.countTokens({
        model: "claude-haiku-4-5",
        messages: [{ role: "user", content: "hi" }],
        betas: ["context-management-2025-06-27"],
      })
      expect(beta.input_tokens).toBe(7)

      mock.script({ match: { path: "/v1/messages/count_tokens" }, body: { input_tokens: 8 } })
      const raw = await fetch(`${gateway.url}/v1/messages/count_tokens?beta=true`, {
        method: "POST",
        headers: {
          "x-api-key": gateway.masterKey,
          "anthropic-version": "2023-06-01",
          "anthropic-beta": "token-counting-2024-11-01",
          "content-type": "application/json",
        },
        body: JSON.stringify({ model: "claude-haiku-4-5", messages: [{ role: "user", content: "hi" }] }),
      })
      expect([raw.status, await raw.json()]).toEqual([200, { input_tokens: 8 }])
      expect(mock.received.map((r) => r.path)).toEqual(["/v1/messages/count_tokens", "/v1/messages/count_tokens"])
      // The betas reach the Anthropic upstream (provider feature headers, same dialect only).
      expect(mock.received.map((r) => r.headers["anthropic-beta"])).toEqual([
        "context-management-2025-06-27,token-counting-2024-11-01",
        "token-counting-2024-11-01",
      ])
    })

    it("Gemini upstream: converted to countTokens with a whole generateContentRequest (system and tools kept)", async () => {
      mock.script({ match: { path: /:countTokens$/ }, body: { totalTokens: 321 } })
      const { data, response } = await countAnthropic("gemini-2.5-flash")
      expect(data).toEqual({ input_tokens: 321 })
      expect(response.headers.get("x-apiproxy-provider")).toBe("gem")
      const sent = mock.received[0]!
      expect([sent.path, sent.headers["x-goog-api-key"]]).toEqual([
        "/v1beta/models/gemini-2.5-flash:countTokens",
        "gem-key",
      ])
      const request = (sent.body as { generateContentRequest: Record<string, any> }).generateContentRequest
      expect(request.model).toBe("models/gemini-2.5-flash")
      expect(request.contents).toEqual([{ role: "user", parts: [{ text: "Hello, world" }] }])
      expect(request.systemInstruction).toEqual({ parts: [{ text: "be brief" }] })
      expect(request.tools[0].functionDeclarations[0].name).toBe("get_weather")
    })

    it("OpenAI upstream (no counting endpoint): an o200k_base estimate, said so in a header, no upstream call", async () => {
      const { data, response } = await anthropic.messages
        .countTokens({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello, world" }] })
        .withResponse()
      // "Hello, world" is 3 tokens in o200k_base, + 3 for the message + 3 for the reply.
      expect(data).toEqual({ input_tokens: 9 })
      expect(response.headers.get("x-apiproxy-token-count")).toBe("estimate")
      expect(response.headers.get("x-apiproxy-provider")).toBeNull()
      expect(mock.received).toHaveLength(0)
      // System prompt and tool definitions count too.
      const { data: more } = await countAnthropic("gpt-4o-mini")
      expect(more.input_tokens).toBeGreaterThan(9 + 20)
    })

    it("an upstream failure moves on to the next candidate, and to the estimate when none is left", async () => {
      mock.script({ match: { path: "/v1/messages/count_tokens" }, status: 503 })
      const { data, response } = await countAnthropic("counted")
      expect(data.input_tokens).toBeGreaterThan(0)
      expect([response.headers.get("x-apiproxy-provider"), response.headers.get("x-apiproxy-attempts")]).toEqual([
        "gem",
        "2",
      ])

      mock.script(
        { match: { path: "/v1/messages/count_tokens" }, status: 500 },
        { match: { path: /:countTokens$/ }, status: 429 },
      )
      const estimated = await countAnthropic("counted")
      expect(estimated.response.headers.get("x-apiproxy-token-count")).toBe("estimate")
      expect(mock.received.map((r) => r.path)).toEqual([
        "/v1/messages/count_tokens",
        "/v1beta/models/gemini-2.5-flash:countTokens",
        "/v1/messages/count_tokens",
        "/v1beta/models/gemini-2.5-flash:countTokens",
      ])
    })

    it("no silent drops: a candidate that cannot express the request is passed over; what a count leaves out is named", async () => {
      const document = {
        type: "document" as const,
        source: { type: "text" as const, media_type: "text/plain" as const, data: "a memo" },
      }
      mock.script({ match: { path: "/v1/messages/count_tokens" }, status: 503 })
      const { data, response } = await anthropic.messages
        .countTokens({
          model: "counted",
          messages: [{ role: "user", content: [document, { type: "text", text: "summarise" }] }],
        })
        .withResponse()
      // Gemini cannot take the document: the estimate, which says it did not count it.
      expect(mock.received.map((r) => r.path)).toEqual(["/v1/messages/count_tokens"])
      expect(response.headers.get("x-apiproxy-token-count")).toBe("estimate")
      expect(response.headers.get("x-apiproxy-dropped")).toContain("document")
      expect(data.input_tokens).toBeGreaterThan(0)

      mock.script({ match: { path: /:countTokens$/ }, body: { totalTokens: 12 } })
      const cached = await anthropic.messages
        .countTokens({
          model: "gemini-2.5-flash",
          messages: [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] }],
        })
        .withResponse()
      expect(cached.data.input_tokens).toBe(12)
      expect(cached.response.headers.get("x-apiproxy-dropped")).toBe("cache_control")
    })

    it("a request the provider refuses (400) is answered with its error in Anthropic's shape, not estimated", async () => {
      mock.script({
        match: { path: "/v1/messages/count_tokens" },
        status: 400,
        errorMessage: "messages: roles must alternate",
      })
      const error = await countAnthropic("counted").catch((e) => e)
      expect(error).toBeInstanceOf(Anthropic.BadRequestError)
      expect(error.error).toMatchObject({
        type: "error",
        error: { type: "invalid_request_error", message: "messages: roles must alternate" },
      })
      expect(mock.received).toHaveLength(1)
    })

    it("errors before any upstream, in Anthropic's shape: unknown model 404, unknown provider 404, bad body 400, no key 401", async () => {
      const unknown = await countAnthropic("no-such-model").catch((e) => e)
      expect(unknown).toBeInstanceOf(Anthropic.NotFoundError)
      expect(unknown.error.error.type).toBe("not_found_error")
      const typo = await countAnthropic("claud/claude-haiku-4-5").catch((e) => e)
      expect(typo).toBeInstanceOf(Anthropic.NotFoundError)
      expect(typo.error.error.message).toContain("Unknown provider 'claud'")
      const bad = await fetch(`${gateway.url}/v1/messages/count_tokens`, {
        method: "POST",
        headers: {
          "x-api-key": gateway.masterKey,
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
        },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: "not a list" }),
      })
      expect(bad.status).toBe(400)
      expect(await bad.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } })
      const anonymous = await fetch(`${gateway.url}/v1/messages/count_tokens?beta=true`, { method: "POST", body: "{}" })
      expect(anonymous.status).toBe(401)
      expect(await anonymous.json()).toEqual({
        type: "error",
        error: { type: "authentication_error", message: "Missing API key: send 'x-api-key: <key>'" },
      })
      expect(mock.received).toHaveLength(0)
    })
  })

  describe("@google/genai models.countTokens", () => {
    it("Gemini upstream: passed through to :countTokens", async () => {
      mock.script({
        match: { path: /:countTokens$/ },
        body: { totalTokens: 55, promptTokensDetails: [{ modality: "TEXT", tokenCount: 55 }] },
      })
      const result = await gemini.models.countTokens({ model: "gemini-2.5-flash", contents: "Hello, world" })
      expect(result.totalTokens).toBe(55)
      const sent = mock.received[0]!
      expect(sent.path).toBe("/v1beta/models/gemini-2.5-flash:countTokens")
      expect(sent.body).toEqual({ contents: [{ role: "user", parts: [{ text: "Hello, world" }] }] })
    })

    it("Anthropic upstream: converted to count_tokens (only the fields it takes)", async () => {
      mock.script({ match: { path: "/v1/messages/count_tokens" }, body: { input_tokens: 77 } })
      const result = await gemini.models.countTokens({ model: "claude-haiku-4-5", contents: "Hello, world" })
      expect(result.totalTokens).toBe(77)
      const sent = mock.received[0]!
      expect(sent.body).toEqual({
        model: "claude-haiku-4-5",
        messages: [{ role: "user", content: [{ type: "text", text: "Hello, world" }] }],
      })
    })

    it("OpenAI upstream: the estimate", async () => {
      const result = await gemini.models.countTokens({ model: "gpt-4o-mini", contents: "Hello, world" })
      expect(result.totalTokens).toBe(9)
      expect(mock.received).toHaveLength(0)
    })

    it("errors in Gemini's shape: unknown model 404, missing key 401 naming x-goog-api-key", async () => {
      const unknown = await gemini.models.countTokens({ model: "no-such-model", contents: "x" }).catch((e) => e)
      expect(unknown.status).toBe(404)
      expect(JSON.parse(unknown.message)).toMatchObject({ error: { code: 404, status: "NOT_FOUND" } })
      const anonymous = await fetch(`${gateway.url}/v1beta/models/gemini-2.5-flash:countTokens`, {
        method: "POST",
        body: "{}",
      })
      expect(await anonymous.json()).toEqual({
        error: { code: 401, status: "UNAUTHENTICATED", message: "Missing API key: send 'x-goog-api-key: <key>'" },
      })
    })
  })

  it("a key's provider allow-list applies; counting is not usage", async () => {
    const admin = { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" }
    const restricted = sdkClients(
      gateway.url,
      await restrictedKey(gateway.url, gateway.masterKey, "counter", ["oai"]),
    ).anthropic
    const refused = await restricted.messages
      .countTokens({ model: "claude-haiku-4-5", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e)
    expect(refused).toBeInstanceOf(Anthropic.PermissionDeniedError)
    expect(mock.received).toHaveLength(0)

    const usage = async () =>
      (
        (await fetch(`${gateway.url}/usage`, { headers: admin }).then((r) => r.json())) as {
          totals: Record<string, number>
        }
      ).totals
    const before = await usage()
    mock.script({ match: { path: "/v1/messages/count_tokens" }, body: { input_tokens: 5 } })
    await countAnthropic("claude-haiku-4-5")
    await new Promise((r) => setTimeout(r, 2_500)) // the ledger writes every 2 s
    expect(await usage()).toEqual(before)
  })

  it("a huge prompt is estimated in bounded time (1 M characters exactly, the rest extrapolated), so are 50,000 messages", async () => {
    const text = "The quick brown fox jumps over the lazy dog. ".repeat(60_000) // 2.7 M characters
    const started = Date.now()
    const { data } = await anthropic.messages
      .countTokens({ model: "gpt-4o-mini", messages: [{ role: "user", content: text }] })
      .withResponse()
    expect(Date.now() - started).toBeLessThan(20_000)
    // 10 tokens per sentence in o200k_base.
    expect(Math.abs(data.input_tokens - 600_000)).toBeLessThan(6_000)

    // Very many tiny messages cost no more per character (they are tokenized in batches).
    const messages = Array.from({ length: 50_000 }, (_, i) => ({
      role: i % 2 === 0 ? ("user" as const) : ("assistant" as const),
      content: "ok",
    }))
    const tiny = Date.now()
    const many = await anthropic.messages.countTokens({ model: "gpt-4o-mini", messages })
    expect(Date.now() - tiny).toBeLessThan(20_000)
    expect(many.input_tokens).toBeGreaterThan(50_000 * 4)
  })
})
