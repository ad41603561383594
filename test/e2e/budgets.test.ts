import Anthropic from "@anthropic-ai/sdk"
import { ApiError as GeminiApiError } from "@google/genai"
import { Effect, Metric } from "effect"
import { Redis } from "ioredis"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { softBudgetOverruns } from "../../src/usage/Budgets.js"
import { gatewayApi } from "../support/GatewayApi.js"
import { PROTOCOL_MODELS, sdkClients } from "../support/ProtocolProviders.js"
import { createStorage, type SharedStorage, startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Issue 15 item 3 through the real server and the official SDKs: a used-up budget refuses the next
 * request with 429 budget_exceeded in the client's dialect before any upstream is called; a soft
 * budget never refuses; the spend survives a restart exactly; two instances enforce one budget.
 * Every answer costs exactly one cent (each provider's price is $0.01 per request and nothing per
 * token), so the amounts are exact. Embedded backends, or Postgres and Redis with DATABASE_URL /
 * REDIS_URL.
 */

const CENT = { "*": { input: 0, output: 0, request: 0.01 } }

const providersFile = (url: string) => ({
  providers: [
    {
      id: "oai",
      protocol: "openai",
      base_url: url,
      keys: [{ value: "sk-oai" }],
      models: [PROTOCOL_MODELS.openai, "embed-model"],
      prices: CENT,
    },
    {
      id: "claude",
      protocol: "anthropic",
      base_url: url,
      keys: [{ value: "sk-ant" }],
      models: [PROTOCOL_MODELS.anthropic],
      prices: CENT,
    },
    {
      id: "gem",
      protocol: "gemini",
      base_url: url,
      keys: [{ value: "gem-key" }],
      models: [PROTOCOL_MODELS.gemini],
      prices: CENT,
    },
  ],
})

const tomorrowUtc = () => {
  const now = new Date()
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString()
}

/** The budget routes and the polling a test needs: spend is counted just after an answer, off its path. */
const budgetTools = (gateway: () => TestGateway) => {
  const api = gatewayApi(
    () => gateway().url,
    () => gateway().masterKey,
  )
  const admin = (method: string, path: string, body?: unknown) => api.call(method, path, gateway().masterKey, body)
  /** Waits until the budget at `path` shows `used` (USD text), and returns its status. */
  const usedBecomes = async (path: string, used: string) => {
    let status: any
    for (let i = 0; i < 100; i++) {
      status = (await admin("GET", path)).body
      if (status?.used_usd === used) return status
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(status?.used_usd).toBe(used)
    return status
  }
  return { api, admin, usedBecomes }
}

const chat = (client: OpenAI, content = "hi") =>
  client.chat.completions.create({ model: PROTOCOL_MODELS.openai, messages: [{ role: "user", content }] })

describe("budgets (real server)", () => {
  let upstream: MockProvider
  let gateway: TestGateway
  const { api, admin, usedBecomes } = budgetTools(() => gateway)

  beforeAll(async () => {
    upstream = await startMockProvider({
      models: [PROTOCOL_MODELS.openai, PROTOCOL_MODELS.anthropic, PROTOCOL_MODELS.gemini, "embed-model"],
    })
    gateway = await startTestGateway({ gatewayFile: providersFile(upstream.url) })
  }, 60_000)

  afterAll(async () => {
    await gateway?.close()
    await upstream?.close()
  })

  it("a used-up key budget refuses the next request with 429 budget_exceeded in every dialect and endpoint, with no upstream call", async () => {
    const userId = await api.createUser("budget-hard")
    const key = await api.createKey(userId, "app")
    const path = `/users/${userId}/api-keys/${key.id}/budget`
    expect((await admin("PUT", path, { amount_usd: "0.02", period: "day" })).status).toBe(200)
    const sdk = sdkClients(gateway.url, key.token)

    // Two answers, one of them streamed, spend the two cents.
    await chat(sdk.openai)
    const stream = await sdk.anthropic.messages.create({
      model: PROTOCOL_MODELS.anthropic,
      max_tokens: 50,
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    })
    for await (const _ of stream) void _
    const status = await usedBecomes(path, "0.02")
    expect(status).toMatchObject({
      budget: "api_key",
      amount_usd: "0.02",
      remaining_usd: "0.00",
      exceeded: true,
      resets_at: tomorrowUtc(),
    })

    const before = upstream.count
    // OpenAI chat: type and code budget_exceeded, when it resets, and no point retrying soon.
    const refused = await chat(sdk.openai).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(refused).toBeInstanceOf(OpenAI.APIError)
    const openaiError = refused as InstanceType<typeof OpenAI.APIError>
    expect([openaiError.status, openaiError.code, openaiError.type]).toEqual([
      429,
      "budget_exceeded",
      "budget_exceeded",
    ])
    expect(openaiError.message).toContain("this API key's daily budget of $0.02 is used up ($0.02 spent")
    expect(openaiError.message).toContain(`it resets at ${tomorrowUtc()}`)
    expect((openaiError.error as any).details).toMatchObject({
      budget: "api_key",
      period: "day",
      limit_usd: "0.02",
      used_usd: "0.02",
      resets_at: tomorrowUtc(),
    })
    expect(openaiError.headers?.get("x-should-retry")).toBe("false")
    expect(Number(openaiError.headers?.get("retry-after"))).toBeGreaterThan(0)
    expect(Number(openaiError.headers?.get("retry-after"))).toBeLessThanOrEqual(86_400)
    // The SDK's own retries (default 2) honour x-should-retry: one refusal, at once.
    // Counted, not timed: a loaded machine could make one refusal slower than a retry's wait.
    let sent = 0
    const retrying = new OpenAI({
      baseURL: `${gateway.url}/v1`,
      apiKey: key.token,
      fetch: (url, init) => {
        sent++
        return fetch(url, init)
      },
    })
    await expect(chat(retrying)).rejects.toMatchObject({ status: 429, code: "budget_exceeded" })
    expect(sent).toBe(1)

    // Anthropic: a 429 whose error type names the budget.
    const anthropicError = await sdk.anthropic.messages
      .create({ model: PROTOCOL_MODELS.anthropic, max_tokens: 50, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e)
    expect(anthropicError).toBeInstanceOf(Anthropic.RateLimitError)
    expect((anthropicError as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "budget_exceeded" },
    })

    // Gemini: RESOURCE_EXHAUSTED with an ErrorInfo reason.
    const geminiError = await sdk.gemini.models
      .generateContent({ model: PROTOCOL_MODELS.gemini, contents: "hi" })
      .catch((e: unknown) => e)
    expect(geminiError).toBeInstanceOf(GeminiApiError)
    expect((geminiError as GeminiApiError).status).toBe(429)
    const geminiBody = JSON.parse((geminiError as GeminiApiError).message)
    expect(geminiBody.error).toMatchObject({
      code: 429,
      status: "RESOURCE_EXHAUSTED",
      details: [{ reason: "BUDGET_EXCEEDED", domain: "apiproxy", metadata: { budget: "api_key", period: "day" } }],
    })

    // Streams, Responses, embeddings, the pass-through endpoints and uploads cost money too.
    await expect(
      sdk.openai.chat.completions.create({
        model: PROTOCOL_MODELS.openai,
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      }),
    ).rejects.toMatchObject({ status: 429, code: "budget_exceeded" })
    await expect(sdk.openai.responses.create({ model: PROTOCOL_MODELS.openai, input: "hi" })).rejects.toMatchObject({
      status: 429,
      code: "budget_exceeded",
    })
    await expect(sdk.openai.embeddings.create({ model: "embed-model", input: "hi" })).rejects.toMatchObject({
      status: 429,
      code: "budget_exceeded",
    })
    await expect(sdk.openai.completions.create({ model: PROTOCOL_MODELS.openai, prompt: "hi" })).rejects.toMatchObject({
      status: 429,
      code: "budget_exceeded",
    })
    await expect(sdk.openai.moderations.create({ input: "hi" })).rejects.toMatchObject({
      status: 429,
      code: "budget_exceeded",
    })
    await expect(
      sdk.openai.audio.speech.create({ model: PROTOCOL_MODELS.openai, input: "hi", voice: "alloy" }),
    ).rejects.toMatchObject({ status: 429, code: "budget_exceeded" })
    const audio = await OpenAI.toFile(Buffer.from("RIFF....WAVEfmt "), "hello.wav", { type: "audio/wav" })
    await expect(
      sdk.openai.audio.transcriptions.create({ model: PROTOCOL_MODELS.openai, file: audio }),
    ).rejects.toMatchObject({ status: 429, code: "budget_exceeded" })
    const geminiStream = await sdk.gemini.models
      .generateContentStream({ model: PROTOCOL_MODELS.gemini, contents: "hi" })
      .catch((e: unknown) => e)
    expect((geminiStream as GeminiApiError).status).toBe(429)
    expect(upstream.count).toBe(before)

    // What costs nothing still answers: the model list.
    expect((await sdk.openai.models.list()).data.length).toBeGreaterThan(0)

    // Raised by a superuser, the key is served again at once.
    expect((await admin("PUT", path, { amount_usd: "0.03", period: "day" })).body).toMatchObject({
      used_usd: "0.02",
      remaining_usd: "0.01",
      exceeded: false,
    })
    await chat(sdk.openai)
    await usedBecomes(path, "0.03")
    await expect(chat(sdk.openai)).rejects.toMatchObject({ status: 429, code: "budget_exceeded" })
    // Removed, nothing is refused.
    expect((await admin("DELETE", path)).status).toBe(204)
    await chat(sdk.openai)
  })

  it("a user's budget covers all their keys together; a total budget never resets", async () => {
    const userId = await api.createUser("budget-user")
    const first = await api.createKey(userId, "one")
    const second = await api.createKey(userId, "two")
    const path = `/users/${userId}/budget`
    expect((await admin("PUT", path, { amount_usd: 0.03, period: "total" })).body).toMatchObject({
      budget: "user",
      amount_usd: "0.03",
      period_start: null,
      resets_at: null,
    })
    const one = sdkClients(gateway.url, first.token)
    const two = sdkClients(gateway.url, second.token)
    await chat(one.openai)
    await one.gemini.models.generateContent({ model: PROTOCOL_MODELS.gemini, contents: "hi" })
    await two.anthropic.messages.create({
      model: PROTOCOL_MODELS.anthropic,
      max_tokens: 50,
      messages: [{ role: "user", content: "hi" }],
    })
    await usedBecomes(path, "0.03")
    const before = upstream.count
    for (const client of [one.openai, two.openai]) {
      const error = (await chat(client).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
      expect([error.status, error.code]).toEqual([429, "budget_exceeded"])
      expect(error.message).toContain(
        "the total budget of this API key's user (all their keys) of $0.03 is used up ($0.03 spent)",
      )
      expect(error.message).toContain("it does not reset")
      // Waiting does not help: no Retry-After.
      expect(error.headers?.get("retry-after")).toBeNull()
    }
    expect(upstream.count).toBe(before)
    // The user's own session sees it too.
    const login = await api.call("POST", "/auth/login", "", {
      username: "budget-user",
      password: "budget-user-password-1234",
    })
    expect((await api.call("GET", path, login.body.access_token)).body).toMatchObject({
      used_usd: "0.03",
      exceeded: true,
    })
  })

  it("a soft budget never refuses: it logs and counts", async () => {
    const userId = await api.createUser("budget-soft")
    const key = await api.createKey(userId, "soft")
    const path = `/users/${userId}/api-keys/${key.id}/budget`
    expect((await admin("PUT", path, { amount_usd: "0.01", period: "month", soft: true })).body).toMatchObject({
      soft: true,
      period: "month",
    })
    const sdk = sdkClients(gateway.url, key.token)
    const counted = Effect.runSync(Metric.value(softBudgetOverruns)).count
    await chat(sdk.openai)
    await usedBecomes(path, "0.01")
    for (let i = 0; i < 3; i++) await chat(sdk.openai)
    expect(await usedBecomes(path, "0.04")).toMatchObject({ exceeded: true, remaining_usd: "0.00" })
    expect(Effect.runSync(Metric.value(softBudgetOverruns)).count - counted).toBeGreaterThanOrEqual(2)
    const warned = gateway.logs.filter((line) => line.includes("soft budget exceeded") && line.includes(key.id))
    // Logged, at most once a minute per budget.
    expect(warned.length).toBe(1)
    expect(warned[0]).toContain("limit_usd=0.01")
  })

  it("a key's budget and its user's both hold: the key's refuses first, then the user's", async () => {
    const userId = await api.createUser("budget-both")
    const key = await api.createKey(userId, "capped")
    const other = await api.createKey(userId, "other")
    expect(
      (await admin("PUT", `/users/${userId}/api-keys/${key.id}/budget`, { amount_usd: "0.01", period: "week" })).status,
    ).toBe(200)
    expect((await admin("PUT", `/users/${userId}/budget`, { amount_usd: "0.02", period: "day" })).status).toBe(200)
    const capped = sdkClients(gateway.url, key.token).openai
    await chat(capped)
    await usedBecomes(`/users/${userId}/api-keys/${key.id}/budget`, "0.01")
    await expect(chat(capped)).rejects.toMatchObject({
      status: 429,
      message: expect.stringContaining("this API key's weekly budget"),
    })
    const free = sdkClients(gateway.url, other.token).openai
    await chat(free)
    await usedBecomes(`/users/${userId}/budget`, "0.02")
    await expect(chat(free)).rejects.toMatchObject({
      status: 429,
      message: expect.stringContaining("budget of this API key's user"),
    })
  })
})

describe("a budget across a gateway restart (shared storage)", () => {
  let upstream: MockProvider
  let storage: SharedStorage
  let gateway: TestGateway
  const { api, admin, usedBecomes } = budgetTools(() => gateway)

  beforeAll(async () => {
    upstream = await startMockProvider({ models: [PROTOCOL_MODELS.openai] })
    storage = await createStorage()
  }, 60_000)

  afterAll(async () => {
    await gateway?.close()
    await storage?.close()
    await upstream?.close()
  })

  it("the spend of the period is exact after a restart, read from the database when the counter is gone", async () => {
    gateway = await startTestGateway({ storage, gatewayFile: providersFile(upstream.url) })
    const userId = await api.createUser("restart")
    const key = await api.createKey(userId, "app")
    const path = `/users/${userId}/api-keys/${key.id}/budget`
    expect((await admin("PUT", path, { amount_usd: "0.05", period: "month" })).status).toBe(200)
    const client = () => sdkClients(gateway.url, key.token).openai
    for (let i = 0; i < 3; i++) await chat(client())
    await usedBecomes(path, "0.03")
    // The last answers are still in the ledger's memory (written every 2 s): shutdown writes them.
    await gateway.close()
    if (storage.env.REDIS_URL !== undefined) {
      // Without Redis the counters were in the stopped process; with it, drop them as a Redis restart would.
      const redis = new Redis(storage.env.REDIS_URL)
      const keys = await redis.keys(`${storage.env.KV_PREFIX}budget:*`)
      expect(keys.length).toBeGreaterThan(0)
      await redis.del(...keys)
      await redis.quit()
    }
    gateway = await startTestGateway({ storage, gatewayFile: providersFile(upstream.url) })
    expect((await admin("GET", path)).body).toMatchObject({ used_usd: "0.03", remaining_usd: "0.02", exceeded: false })
    await chat(client())
    await chat(client())
    await usedBecomes(path, "0.05")
    const before = upstream.count
    await expect(chat(client())).rejects.toMatchObject({ status: 429, code: "budget_exceeded" })
    expect(upstream.count).toBe(before)
  })
})

const withoutSharedBackends = !process.env.DATABASE_URL || !process.env.REDIS_URL

describe.skipIf(withoutSharedBackends)(
  "two instances enforce one budget together (skipped without DATABASE_URL and REDIS_URL)",
  () => {
    let upstream: MockProvider
    let storage: SharedStorage
    let a: TestGateway
    let b: TestGateway
    const { api, admin, usedBecomes } = budgetTools(() => a)

    beforeAll(async () => {
      upstream = await startMockProvider({ models: [PROTOCOL_MODELS.openai] })
      storage = await createStorage()
      a = await startTestGateway({ storage, gatewayFile: providersFile(upstream.url) })
      b = await startTestGateway({ storage, gatewayFile: providersFile(upstream.url) })
    }, 60_000)

    afterAll(async () => {
      await a?.close()
      await b?.close()
      await storage?.close()
      await upstream?.close()
    })

    it("what both let through never passes the limit by more than one request's cost per request in flight", async () => {
      const userId = await api.createUser("twins")
      const key = await api.createKey(userId, "shared")
      const path = `/users/${userId}/api-keys/${key.id}/budget`
      expect((await admin("PUT", path, { amount_usd: "0.10", period: "day" })).status).toBe(200)
      // Each answer takes a while, so requests overlap: IN_FLIGHT at a time, alternating instances.
      upstream.setDefault({ delayMs: 40 })
      const IN_FLIGHT = 4
      const clients = [a, b].map((gateway) => sdkClients(gateway.url, key.token).openai)
      let next = 0
      let served = 0
      let refused = 0
      const before = upstream.count
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < 40) {
            const client = clients[next++ % 2]!
            const outcome = await chat(client).then(
              () => "served",
              (error: { status?: number; code?: string }) => `${error.status} ${error.code}`,
            )
            if (outcome === "served") served += 1
            else {
              expect(outcome).toBe("429 budget_exceeded")
              refused += 1
            }
          }
        }),
      )
      upstream.setDefault(undefined)
      expect(served + refused).toBe(40)
      expect(upstream.count - before).toBe(served)
      // Ten cents at one cent an answer: at least ten served, and at most one more per request in flight.
      expect(served).toBeGreaterThanOrEqual(10)
      expect(served).toBeLessThanOrEqual(10 + IN_FLIGHT)
      // Both instances count the same spend, exactly what was served, and the database agrees.
      const used = (served / 100).toFixed(2)
      await usedBecomes(path, used)
      await budgetTools(() => b).usedBecomes(path, used)
      // /usage on one instance writes its own pending usage first; the other's is written within 2 s.
      let recorded: string | undefined
      for (let i = 0; i < 50 && recorded !== used; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100))
        recorded = (await admin("GET", `/usage?user_id=${userId}`)).body.totals.cost_usd
      }
      expect(recorded).toBe(used)
    })
  },
)
