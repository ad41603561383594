import * as Reactivity from "@effect/experimental/Reactivity"
import Anthropic from "@anthropic-ai/sdk"
import { GoogleGenAI } from "@google/genai"
import { Effect, Redacted } from "effect"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Database from "../../src/storage/Database.js"
import { type MockProvider, startMockProvider } from "../support/MockProvider.js"
import { restrictedKey } from "../support/RestrictedKey.js"
import { reachable } from "../support/TcpProxy.js"
import { createStorage, OUTAGE_DATABASE_URL, type SharedStorage, startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * The request log end to end: requests through the official SDKs — JSON, streamed, failed over,
 * rescued mid-stream, refused — leave exactly the rows expected in `request_log`, written by the
 * time the gateway has shut down (its final flush). Read straight from the database, so it runs
 * on a Postgres server (DATABASE_URL, else the one on 127.0.0.1:5432; skipped when none listens).
 */

type Row = Record<string, unknown> & { readonly request_id: string; readonly attempts: ReadonlyArray<Record<string, unknown>> }

describe("request log (real server)", () => {
  let primary: MockProvider
  let backup: MockProvider
  let storage: SharedStorage | undefined
  let gateway: TestGateway | undefined
  let rows: Map<string, Row>
  let restrictedUser: string | undefined
  /** `x-apiproxy-cost` of the JSON answer. */
  let jsonCost: string | null

  const readRows = async (databaseUrl: string) =>
    Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(Database.connect(Redacted.make(databaseUrl), { maxConnections: 1 }), (sql) =>
          sql<Row>`
            SELECT request_id, user_id, api_key_id, dialect, endpoint, requested_model, stream, provider, model, attempts,
                   status, complete, rescued, latency_ms, ttft_ms, input_tokens::int, output_tokens::int,
                   cost_nanousd::float8 AS cost_nanousd, error_class, error_message
            FROM request_log`,
        ),
      ).pipe(Effect.provide(Reactivity.layer)),
    )

  beforeAll(async () => {
    const server = new URL(OUTAGE_DATABASE_URL)
    if (!(await reachable(server.hostname, Number(server.port || 5432)))) return
    storage = await createStorage({ serverUrl: OUTAGE_DATABASE_URL })
    primary = await startMockProvider({ models: ["gpt-4o-mini"] })
    backup = await startMockProvider({ models: ["gpt-4.1-mini"] })
    gateway = await startTestGateway({
      storage,
      gatewayFile: {
        providers: [
          { id: "primary", protocol: "openai", base_url: primary.url, keys: [{ value: "sk-primary-secret" }], models: ["gpt-4o-mini"] },
          { id: "backup", protocol: "openai", base_url: backup.url, keys: [{ value: "sk-backup-secret" }], models: ["gpt-4.1-mini"] },
          { id: "other", protocol: "openai", base_url: backup.url, keys: [{ value: "sk-other-secret" }], models: ["other-model"] },
        ],
        logical_models: [
          {
            id: "fast",
            retries: 0,
            upstreams: [
              { provider: "primary", model: "gpt-4o-mini", priority: 0 },
              { provider: "backup", model: "gpt-4.1-mini", priority: 1 },
            ],
          },
        ],
      },
    })
    const { url, masterKey } = gateway
    const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: masterKey, maxRetries: 0 })
    const anthropic = new Anthropic({ baseURL: url, apiKey: masterKey, maxRetries: 0 })
    const gemini = new GoogleGenAI({ apiKey: masterKey, httpOptions: { baseUrl: url } })
    const id = (requestId: string) => ({ headers: { "x-request-id": requestId } })
    const messages = [{ role: "user" as const, content: "hi" }]

    jsonCost = (await openai.chat.completions.create({ model: "fast", messages }, id("rl-json")).withResponse()).response.headers.get("x-apiproxy-cost")
    const streamed = await openai.chat.completions.create({ model: "fast", messages, stream: true }, id("rl-stream"))
    for await (const _ of streamed) void _
    primary.script({ status: 503 })
    await openai.chat.completions.create({ model: "fast", messages }, id("rl-failover"))
    primary.script({ cutAfterChunks: 2 })
    const rescued = await anthropic.messages.stream({ model: "fast", max_tokens: 50, messages: [{ role: "user", content: "cut" }] }, id("rl-rescued")).finalText()
    expect(rescued).toBe("Hello from mock: cut")
    await gemini.models.generateContent({ model: "fast", contents: "hi", config: { httpOptions: { headers: { "x-request-id": "rl-gemini" } } } })
    primary.script({ status: 400, errorMessage: "Invalid 'messages': bad key sk-proj-abcdefghijklmnopqrstu" })
    await expect(openai.chat.completions.create({ model: "fast", messages }, id("rl-relayed-400"))).rejects.toBeInstanceOf(OpenAI.BadRequestError)
    await expect(openai.chat.completions.create({ model: "no-such-model", messages }, id("rl-unknown"))).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    // A key limited to a provider that does not serve the model: refused before any upstream, logged as the key's.
    const restricted = await restrictedKey(url, masterKey, "rl-user", ["other"])
    const limited = new OpenAI({ baseURL: `${url}/v1`, apiKey: restricted, maxRetries: 0 })
    await expect(limited.chat.completions.create({ model: "fast", messages }, id("rl-refused"))).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError)
    const users = (await (await fetch(`${url}/users`, { headers: { authorization: `Bearer ${masterKey}` } })).json()) as Array<{ id: string; username: string }>
    restrictedUser = users.find((u) => u.username === "rl-user")?.id
    // Not authenticated: no row.
    const stranger = new OpenAI({ baseURL: `${url}/v1`, apiKey: "apx-not-a-key", maxRetries: 0 })
    await expect(stranger.chat.completions.create({ model: "fast", messages }, id("rl-stranger"))).rejects.toBeInstanceOf(OpenAI.AuthenticationError)

    // The rows are written by the final flush at the latest.
    await gateway.close()
    gateway = undefined
    rows = new Map((await readRows(storage.env.DATABASE_URL!)).map((row) => [row.request_id, row]))
  }, 60_000)

  afterAll(async () => {
    await gateway?.close()
    await storage?.close()
    await primary?.close()
    await backup?.close()
  })

  const skipped = (context: { skip: () => void }) => {
    if (storage !== undefined) return false
    console.log(`request log e2e: skipped, nothing listens at ${new URL(OUTAGE_DATABASE_URL).host}`)
    context.skip()
    return true
  }

  it("one row per authenticated request, none for the unauthenticated one", (context) => {
    if (skipped(context)) return
    expect([...rows.keys()].sort()).toEqual(
      ["rl-failover", "rl-gemini", "rl-json", "rl-refused", "rl-relayed-400", "rl-rescued", "rl-stream", "rl-unknown"].sort(),
    )
  })

  it("a JSON answer: caller, route, model asked and served, one attempt, tokens, latency, its cost as x-apiproxy-cost said", (context) => {
    if (skipped(context)) return
    const row = rows.get("rl-json")!
    expect(row).toMatchObject({
      user_id: null,
      api_key_id: null,
      dialect: "openai-chat",
      endpoint: "/v1/chat/completions",
      requested_model: "fast",
      stream: false,
      provider: "primary",
      model: "gpt-4o-mini",
      status: 200,
      complete: true,
      rescued: false,
      ttft_ms: null,
      error_class: null,
      error_message: null,
    })
    expect(row.attempts).toEqual([{ provider: "primary", model: "gpt-4o-mini", outcome: "ok", status: 200, ms: expect.any(Number) }])
    expect(row.input_tokens).toBeGreaterThan(0)
    expect(row.output_tokens).toBeGreaterThan(0)
    expect(row.latency_ms).toBeGreaterThanOrEqual(0)
    expect(jsonCost).toMatch(/^\d+\.\d+$/)
    expect(row.cost_nanousd).toBe(Math.round(Number(jsonCost) * 1e9))
    expect(row.cost_nanousd).toBeGreaterThan(0)
  })

  it("a stream: its time to first token, within its latency, and its usage", (context) => {
    if (skipped(context)) return
    const row = rows.get("rl-stream")!
    expect(row).toMatchObject({ stream: true, status: 200, complete: true, provider: "primary", error_class: null })
    expect(row.ttft_ms).toEqual(expect.any(Number))
    expect(row.ttft_ms as number).toBeLessThanOrEqual(row.latency_ms as number)
    expect(row.output_tokens).toBeGreaterThan(0)
  })

  it("a failover: every attempt, in order, with the upstream's status; served by the second", (context) => {
    if (skipped(context)) return
    const row = rows.get("rl-failover")!
    expect(row).toMatchObject({ status: 200, complete: true, provider: "backup", model: "gpt-4.1-mini" })
    expect(row.attempts.map((a) => [a.provider, a.outcome, a.status])).toEqual([
      ["primary", "http", 503],
      ["backup", "ok", 200],
    ])
  })

  it("a stream cut and rescued: the cut attempt, the continuation, complete, rescued, no error", (context) => {
    if (skipped(context)) return
    const row = rows.get("rl-rescued")!
    expect(row).toMatchObject({ dialect: "anthropic", endpoint: "/v1/messages", stream: true, status: 200, complete: true, rescued: true, provider: "primary", error_class: null })
    expect(row.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["primary", "cut"],
      ["backup", "ok"],
    ])
    // What the continuation used is priced; the cut part reported no usage.
    expect(row.cost_nanousd).toBeGreaterThan(0)
  })

  it("Gemini: its dialect, and its endpoint without the model in the path", (context) => {
    if (skipped(context)) return
    expect(rows.get("rl-gemini")).toMatchObject({ dialect: "gemini", endpoint: "/v1beta/models/*:generateContent", requested_model: "fast", status: 200, complete: true })
  })

  it("refusals: the provider's 400 relayed (its message redacted), an unknown model, a key not allowed — each with its error class", (context) => {
    if (skipped(context)) return
    const relayed = rows.get("rl-relayed-400")!
    expect(relayed).toMatchObject({ status: 400, complete: false, error_class: "UpstreamStatusError", provider: null })
    expect(relayed.attempts.map((a) => [a.provider, a.outcome, a.status])).toEqual([["primary", "http", 400]])
    expect(relayed.error_message).toContain("Invalid 'messages'")
    expect(relayed.error_message).not.toContain("sk-proj-abcdefghijklmnopqrstu")
    expect(rows.get("rl-unknown")).toMatchObject({ status: 404, error_class: "ModelNotFound", requested_model: "no-such-model", attempts: [], cost_nanousd: null })
    expect(rows.get("rl-refused")).toMatchObject({ status: 403, error_class: "ProviderNotAllowed", user_id: restrictedUser, api_key_id: expect.any(String), attempts: [] })
  })
})
