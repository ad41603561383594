import { setTimeout as sleep } from "node:timers/promises"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { PROTOCOL_MODELS, protocolProviders, sdkClients } from "../support/ProtocolProviders.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Issue 16 item 6: a key with limits reads where it stands in OpenAI's `x-ratelimit-*` headers on
 * every generation answer (JSON, stream, and the 429 itself); a key without limits gets none; the
 * model lists are not counted against `requests_per_minute`.
 */
const RESET = /^(\d+ms|\d+(\.\d+)?s|1m0s)$/

const headersOf = (headers: Headers) => {
  const out: Record<string, string> = {}
  headers.forEach((value, name) => {
    if (name.startsWith("x-ratelimit-")) out[name] = value
  })
  return out
}

describe("x-ratelimit-* headers and uncounted model lists", () => {
  let mock: MockProvider
  let gateway: TestGateway

  /** A new user's key with these limits, made through the management API. */
  const limitedKey = async (username: string, limits: Record<string, number>, superuser = false) => {
    const admin = { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" }
    const user = await fetch(`${gateway.url}/users`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({
        username,
        email: `${username}@example.com`,
        password: `${username}-password-1`,
        is_superuser: superuser,
      }),
    })
    const { id } = (await user.json()) as { id: string }
    const key = await fetch(`${gateway.url}/users/${id}/api-keys`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ name: "app", expiry: "never", ...limits }),
    })
    expect(key.status).toBe(201)
    return ((await key.json()) as { token: string }).token
  }

  /** The windows are fixed minutes of the wall clock: start a counted sequence well inside one. */
  const awayFromMinuteEnd = async () => {
    const left = 60_000 - (Date.now() % 60_000)
    if (left < 8_000) await sleep(left + 50)
  }

  beforeAll(async () => {
    mock = await startMockProvider({ models: Object.values(PROTOCOL_MODELS) })
    gateway = await startTestGateway({ gatewayFile: { providers: protocolProviders(mock.url) } })
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
  })

  it("requests and tokens limits: headers on JSON, stream and the 429; model lists and metrics count nothing", async () => {
    // A superuser's key, which may read /metrics (METRICS=master): a scraper's reads are not requests.
    const token = await limitedKey("limited", { requests_per_minute: 4, tokens_per_minute: 1_000_000 }, true)
    const { openai, anthropic, gemini } = sdkClients(gateway.url, token)
    await awayFromMinuteEnd()
    // Every model-list route and /metrics, several times: none is counted.
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
        200,
      )
      expect((await openai.models.list()).data.length).toBeGreaterThan(0)
      expect((await openai.models.retrieve(PROTOCOL_MODELS.openai)).id).toBe(PROTOCOL_MODELS.openai)
      expect((await anthropic.models.list()).data.length).toBeGreaterThan(0)
      expect((await gemini.models.list()).page.length).toBeGreaterThan(0)
      expect(
        (await fetch(`${gateway.url}/providers/oai/models`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(200)
    }

    const messages = [{ role: "user" as const, content: "hi" }]
    const json = await openai.chat.completions.create({ model: PROTOCOL_MODELS.openai, messages }).withResponse()
    const first = headersOf(json.response.headers)
    expect(first).toMatchObject({
      "x-ratelimit-limit-requests": "4",
      "x-ratelimit-remaining-requests": "3",
      "x-ratelimit-limit-tokens": "1000000",
    })
    expect(Number(first["x-ratelimit-remaining-tokens"])).toBeLessThanOrEqual(1_000_000)
    expect(first["x-ratelimit-reset-requests"]).toMatch(RESET)
    expect(first["x-ratelimit-reset-tokens"]).toBe(first["x-ratelimit-reset-requests"])

    const stream = await openai.chat.completions
      .create({ model: PROTOCOL_MODELS.openai, messages, stream: true })
      .withResponse()
    for await (const _ of stream.data) void _
    expect(headersOf(stream.response.headers)["x-ratelimit-remaining-requests"]).toBe("2")

    const claude = await anthropic.messages
      .create({ model: PROTOCOL_MODELS.anthropic, max_tokens: 16, messages })
      .withResponse()
    expect(headersOf(claude.response.headers)["x-ratelimit-remaining-requests"]).toBe("1")
    const responses = await openai.responses.create({ model: PROTOCOL_MODELS.openai, input: "hi" }).withResponse()
    expect(headersOf(responses.response.headers)["x-ratelimit-remaining-requests"]).toBe("0")

    const refused = await openai.chat.completions.create({ model: PROTOCOL_MODELS.openai, messages }).catch((e) => e)
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError)
    const limited = headersOf(refused.headers)
    expect(limited).toMatchObject({
      "x-ratelimit-limit-requests": "4",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-limit-tokens": "1000000",
    })
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    // Still uncounted, still answered, while the key is refused everything else.
    expect((await openai.models.list()).data.length).toBeGreaterThan(0)
    const anthropicRefused = await anthropic.messages
      .create({ model: PROTOCOL_MODELS.anthropic, max_tokens: 16, messages })
      .catch((e) => e)
    expect(anthropicRefused).toBeInstanceOf(Anthropic.RateLimitError)
    expect(headersOf(anthropicRefused.headers)["x-ratelimit-remaining-requests"]).toBe("0")
  })

  it("a tokens-only limit sends only the -tokens headers, down to 0 on its 429", async () => {
    const token = await limitedKey("tokens-only", { tokens_per_minute: 5 })
    const { openai } = sdkClients(gateway.url, token)
    await awayFromMinuteEnd()
    const messages = [{ role: "user" as const, content: "a question long enough to spend more than five tokens" }]
    const first = await openai.chat.completions.create({ model: PROTOCOL_MODELS.openai, messages }).withResponse()
    expect(headersOf(first.response.headers)).toEqual({
      "x-ratelimit-limit-tokens": "5",
      "x-ratelimit-remaining-tokens": "5",
      "x-ratelimit-reset-tokens": expect.stringMatching(RESET),
    })
    // The answer's tokens are counted after it: a later request of this minute is refused.
    let refused: any
    for (let i = 0; i < 20 && refused === undefined; i++) {
      refused = await openai.chat.completions.create({ model: PROTOCOL_MODELS.openai, messages }).then(
        () => undefined,
        (e) => e,
      )
    }
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError)
    expect(headersOf(refused.headers)).toMatchObject({
      "x-ratelimit-limit-tokens": "5",
      "x-ratelimit-remaining-tokens": "0",
    })
    expect(headersOf(refused.headers)["x-ratelimit-limit-requests"]).toBeUndefined()
  })

  it("a key without limits (the master key) gets no x-ratelimit-* header", async () => {
    const { openai } = sdkClients(gateway.url, gateway.masterKey)
    const messages = [{ role: "user" as const, content: "hi" }]
    const json = await openai.chat.completions.create({ model: PROTOCOL_MODELS.openai, messages }).withResponse()
    const stream = await openai.chat.completions
      .create({ model: PROTOCOL_MODELS.openai, messages, stream: true })
      .withResponse()
    for await (const _ of stream.data) void _
    expect(headersOf(json.response.headers)).toEqual({})
    expect(headersOf(stream.response.headers)).toEqual({})
  })
})
