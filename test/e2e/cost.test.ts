import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { gatewayApi } from "../support/GatewayApi.js"
import { sdkClients } from "../support/ProtocolProviders.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Issue 15 item 2 through the real server and the official SDKs: each JSON answer says what it
 * cost (`x-apiproxy-cost`, from the shipped prices or the provider's own), an unpriced model says
 * nothing, and `GET /usage` adds the costs up to the nano-dollar. Embedded backends, or Postgres
 * and Redis with DATABASE_URL / REDIS_URL.
 */

/** "0.0005103" → 510300 nano-dollars (exactly, through strings). */
const nanoOf = (usd: string | null | undefined): bigint => {
  expect(usd).toMatch(/^\d+\.\d{2,9}$/)
  const [whole, fraction] = usd!.split(".")
  return BigInt(whole!) * 1_000_000_000n + BigInt(fraction!.padEnd(9, "0"))
}

describe("cost (real server)", () => {
  let upstream: MockProvider
  let gateway: TestGateway
  let sdk: ReturnType<typeof sdkClients>
  const api = gatewayApi(
    () => gateway.url,
    () => gateway.masterKey,
  )
  const admin = (method: string, path: string, body?: unknown) => api.call(method, path, gateway.masterKey, body)

  beforeAll(async () => {
    upstream = await startMockProvider({
      models: ["gpt-4o-mini", "claude-sonnet-4-20250514", "gemini-2.5-flash", "house-model", "mystery-model"],
    })
    gateway = await startTestGateway({
      gatewayFile: {
        providers: [
          {
            id: "oai",
            protocol: "openai",
            base_url: upstream.url,
            keys: [{ value: "sk-oai" }],
            models: ["gpt-4o-mini", "mystery-model"],
          },
          {
            id: "claude",
            protocol: "anthropic",
            base_url: upstream.url,
            keys: [{ value: "sk-ant" }],
            models: ["claude-sonnet-4-20250514"],
          },
          {
            id: "gem",
            protocol: "gemini",
            base_url: upstream.url,
            keys: [{ value: "gem-key" }],
            models: ["gemini-2.5-flash"],
          },
          {
            id: "house",
            protocol: "openai",
            base_url: upstream.url,
            keys: [{ value: "sk-house" }],
            models: ["house-model"],
            prices: { "house-model": { input: 0.5, output: 1.5, request: 0.001 } },
          },
        ],
      },
    })
    sdk = sdkClients(gateway.url, gateway.masterKey)
  }, 60_000)

  afterAll(async () => {
    await gateway?.close()
    await upstream?.close()
  })

  const usage = async (query = "") => {
    const answer = await admin("GET", `/usage${query}`)
    expect(answer.status).toBe(200)
    return answer.body as { rows: Array<Record<string, any>>; totals: Record<string, any> }
  }

  /** Every cost a JSON answer reported, to compare with /usage. */
  const reported: Array<bigint> = []

  it("x-apiproxy-cost on JSON answers in each dialect: shipped prices, a dated snapshot, cache reads and writes, reasoning", async () => {
    // OpenAI chat, gpt-4o-mini ($0.15 in, $0.075 cached, $0.60 out per million): 1 034 fresh + 200 cached + 567 out.
    upstream.script({ usage: { inputTokens: 1_234, cachedTokens: 200, outputTokens: 567 } })
    const chat = await sdk.openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(chat.data.usage?.prompt_tokens).toBe(1_234)
    expect(chat.response.headers.get("x-apiproxy-cost")).toBe("0.0005103")

    // Anthropic messages, claude-sonnet-4-20250514 priced as claude-sonnet-4: 1 000 fresh × $3, 5 000 read × $0.30, 2 000 written × $3.75, 300 out × $15.
    upstream.script({
      usage: { inputTokens: 1_000, cachedTokens: 5_000, cacheCreationTokens: 2_000, outputTokens: 300 },
    })
    const message = await sdk.anthropic.messages
      .create({ model: "claude-sonnet-4-20250514", max_tokens: 100, messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(message.data.usage.cache_read_input_tokens).toBe(5_000)
    expect(message.response.headers.get("x-apiproxy-cost")).toBe("0.0165")

    // Gemini, gemini-2.5-flash ($0.30 in, $0.03 cached, $2.50 out incl. thoughts): 6 000 fresh + 4 000 cached + 2 000 out.
    upstream.script({
      usage: { inputTokens: 10_000, cachedTokens: 4_000, outputTokens: 2_000, reasoningTokens: 1_500 },
    })
    const gemini = await sdk.gemini.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" })
    expect(gemini.usageMetadata?.thoughtsTokenCount).toBe(1_500)
    expect(gemini.sdkHttpResponse?.headers?.["x-apiproxy-cost"]).toBe("0.00692")

    // Another dialect than the provider's: the Anthropic client asks the OpenAI model; the price is the served model's.
    upstream.script({ usage: { inputTokens: 1_000_000, outputTokens: 1_000_000 } })
    const crossed = await sdk.anthropic.messages
      .create({ model: "gpt-4o-mini", max_tokens: 100, messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(crossed.response.headers.get("x-apiproxy-cost")).toBe("0.75")

    reported.push(...["0.0005103", "0.0165", "0.00692", "0.75"].map(nanoOf))
  })

  it("a provider's own prices (per request too) win; an unpriced model has no header and counts as unpriced", async () => {
    upstream.script({ usage: { inputTokens: 100, outputTokens: 100 } })
    const house = await sdk.openai.chat.completions
      .create({ model: "house-model", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    // 100 × $0.50 + 100 × $1.50 per million, plus $0.001 per request.
    expect(house.response.headers.get("x-apiproxy-cost")).toBe("0.0012")
    reported.push(nanoOf("0.0012"))

    const mystery = await sdk.openai.chat.completions
      .create({ model: "mystery-model", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(mystery.response.headers.get("x-apiproxy-provider")).toBe("oai")
    expect(mystery.response.headers.has("x-apiproxy-cost")).toBe(false)
  })

  it("a failed attempt that reported no usage costs nothing: after a retry the answer's cost is the answer's alone", async () => {
    upstream.script({ status: 503 }, { usage: { inputTokens: 1_000, outputTokens: 1_000 } })
    const retried = await sdk.openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(retried.response.headers.get("x-apiproxy-attempts")).toBe("2")
    expect(retried.response.headers.get("x-apiproxy-cost")).toBe("0.00075")
    reported.push(nanoOf("0.00075"))
  })

  it("GET /usage: each row's cost and the total add up to the answers' costs, to the nano-dollar; a stream counts too", async () => {
    // A stream has no cost header (its usage comes last) but its cost is in /usage: 10 × $0.15 + 20 × $0.60 per million.
    upstream.script({ usage: { inputTokens: 10, outputTokens: 20 } })
    const stream = await sdk.openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "stream" }],
      stream: true,
    })
    for await (const _ of stream) void _
    const streamed = 13_500n

    const { rows, totals } = await usage()
    const byModel = new Map(rows.map((r) => [r.model as string, r]))
    expect(nanoOf(byModel.get("gpt-4o-mini")!.cost_usd)).toBe(
      nanoOf("0.0005103") + nanoOf("0.75") + nanoOf("0.00075") + streamed,
    )
    expect(byModel.get("claude-sonnet-4-20250514")).toMatchObject({
      provider: "claude",
      cost_usd: "0.0165",
      unpriced_requests: 0,
    })
    expect(byModel.get("gemini-2.5-flash")).toMatchObject({ provider: "gem", cost_usd: "0.00692" })
    expect(byModel.get("house-model")).toMatchObject({ provider: "house", cost_usd: "0.0012" })
    expect(byModel.get("mystery-model")).toMatchObject({ requests: 1, cost_usd: null, unpriced_requests: 1 })
    expect(nanoOf(totals.cost_usd)).toBe(reported.reduce((a, b) => a + b, 0n) + streamed)
    expect(totals.unpriced_requests).toBe(1)

    // By day: the same total, each row with its UTC day.
    const byDay = await usage("?group_by=day")
    expect(byDay.rows.every((r) => r.day === new Date().toISOString().slice(0, 10))).toBe(true)
    expect(byDay.totals.cost_usd).toBe(totals.cost_usd)
    expect((await admin("GET", "/usage?group_by=week")).status).toBe(400)
  })

  it("prices set through the management API apply to the next answer; invalid prices are a 400 naming the field", async () => {
    const patched = await admin("PATCH", "/providers/oai", { prices: { "gpt-4o-mini": { input: 1, output: 2 } } })
    expect(patched.status).toBe(200)
    expect(patched.body.prices).toEqual({ "gpt-4o-mini": { input: 1, output: 2 } })
    expect((await admin("GET", "/providers/oai")).body.prices).toEqual({ "gpt-4o-mini": { input: 1, output: 2 } })

    upstream.script({ usage: { inputTokens: 1_000, outputTokens: 1_000 } })
    const priced = await sdk.openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(priced.response.headers.get("x-apiproxy-cost")).toBe("0.003")

    const bad = await admin("PATCH", "/providers/oai", { prices: { "gpt-4o-mini": { input: 0.0000001, output: 2 } } })
    expect(bad.status).toBe(400)
    expect(bad.body.message).toContain("prices")
    expect(bad.body.message).toContain("at most 6 decimals")

    // null clears: the shipped price is back.
    expect((await admin("PATCH", "/providers/oai", { prices: null })).body.prices).toBeNull()
    upstream.script({ usage: { inputTokens: 1_000, outputTokens: 1_000 } })
    const shipped = await sdk.openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      .withResponse()
    expect(shipped.response.headers.get("x-apiproxy-cost")).toBe("0.00075")
  })
})
