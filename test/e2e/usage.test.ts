import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/** Usage accounting end to end: what the data plane answered shows in GET /usage. */
describe("usage (real server)", () => {
  let upstream: MockProvider
  let gateway: TestGateway
  let client: OpenAI

  beforeAll(async () => {
    upstream = await startMockProvider({ models: ["gpt-4o-mini"] })
    gateway = await startTestGateway({
      env: { UPSTREAM_IDLE_TIMEOUT: "1 second" },
      gatewayFile: {
        providers: [
          {
            id: "mock",
            protocol: "openai",
            base_url: upstream.url,
            keys: [{ value: "sk-mock-secret" }],
            models: ["gpt-4o-mini"],
          },
        ],
      },
    })
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
  })

  afterAll(async () => {
    await gateway?.close()
    await upstream?.close()
  })

  const usage = async () => {
    const response = await fetch(`${gateway.url}/usage`, { headers: { authorization: `Bearer ${gateway.masterKey}` } })
    expect(response.status).toBe(200)
    return (await response.json()) as { rows: Array<Record<string, unknown>>; totals: Record<string, number> }
  }

  it("counts JSON answers, finished streams (with their usage), cut streams (as incomplete) and their continuation", async () => {
    const json = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    })
    // The client did not ask for stream usage: the gateway asks for it anyway, to count it.
    const streamed = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "stream" }],
      stream: true,
    })
    for await (const _ of streamed) void _
    upstream.script({ cutAfterChunks: 2 })
    const cut = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "cut" }],
      stream: true,
    })
    let text = ""
    for await (const chunk of cut) text += chunk.choices[0]?.delta?.content ?? ""
    // Mid-stream rescue: the cut answer was continued by asking the upstream again.
    expect(text).toBe("Hello from mock: cut")

    // Usage is what was really spent upstream: the cut attempt (incomplete) and its continuation.
    const { rows, totals } = await usage()
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({
      api_key_id: null,
      user_id: null,
      provider: "mock",
      model: "gpt-4o-mini",
      requests: 4,
      incomplete: 1,
    })
    // Tokens of the JSON answer and of the finished stream at least (the cut stream sent no usage).
    expect(totals.input_tokens).toBeGreaterThanOrEqual(2 * json.usage!.prompt_tokens)
    expect(totals.output_tokens).toBeGreaterThanOrEqual(2 * json.usage!.completion_tokens)
  })

  it("group_by=hour: one row per UTC hour (its start, ISO), adding up to the ungrouped totals; other buckets are a 400", async () => {
    const authorization = { authorization: `Bearer ${gateway.masterKey}` }
    const to = new Date()
    const from = new Date(to.getTime() - 3 * 3_600_000)
    const query = `from=${from.toISOString()}&to=${to.toISOString()}`
    const get = async (path: string) => {
      const response = await fetch(`${gateway.url}${path}`, { headers: authorization })
      return { status: response.status, body: (await response.json()) as any }
    }
    const all = await get(`/usage?${query}`)
    const byHour = await get(`/usage?${query}&group_by=hour`)
    expect(byHour.status).toBe(200)
    expect(all.body.totals.requests).toBeGreaterThan(0)
    expect(byHour.body.totals).toEqual(all.body.totals)
    // Every request of this test was answered within the last minutes: their hour is now's (or the one before, at a turn of the hour).
    const hourOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 13)}:00:00.000Z`
    const hours = [hourOf(to.getTime()), hourOf(to.getTime() - 300_000)]
    for (const row of byHour.body.rows) {
      expect(hours).toContain(row.hour)
      expect(row.day).toBeUndefined()
    }
    const requests = byHour.body.rows.reduce((n: number, row: { requests: number }) => n + row.requests, 0)
    expect(requests).toBe(all.body.totals.requests)

    // A window that ends before any request: no rows, zero totals.
    const before = await get(`/usage?from=${from.toISOString()}&to=${hourOf(to.getTime() - 3_600_000)}&group_by=hour`)
    expect(before.body.rows).toEqual([])
    expect(before.body.totals.requests).toBe(0)

    const refused = await get(`/usage?${query}&group_by=minute`)
    expect(refused.status).toBe(400)
    expect(refused.body.message, JSON.stringify(refused.body)).toContain("expected day or hour")
  })

  it("a request no upstream answered, or one the provider refused, is not usage", async () => {
    const before = (await usage()).totals.requests
    const unknown = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }),
    })
    expect(unknown.status).toBe(404)
    // The provider refuses the request: its error is relayed, and nothing was used.
    upstream.script({ status: 400 })
    const failed = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    })
    expect(failed.status).toBe(400)
    expect((await usage()).totals.requests).toBe(before)
  })
})
