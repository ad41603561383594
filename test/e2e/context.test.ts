import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { gatewayApi } from "../support/GatewayApi.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Session context end to end: with X-Session-Id the gateway keeps {at, provider, model, request,
 * response} entries per owner and session, capped in count and size, with a TTL, readable through
 * GET /context/{session_id} by the key that wrote them or an admin — and by nobody else.
 */

const MAX_ENTRIES = 3
const MAX_BYTES = 2048

interface ContextEntry {
  readonly at: string
  readonly provider: string
  readonly model: string
  readonly stream: boolean
  readonly complete: boolean
  readonly request: string
  readonly response: string
  readonly owner?: string
}

describe("session context", () => {
  let mock: MockProvider
  let gateway: TestGateway
  /** Two keys of alice, one of bob (none of them superusers). */
  let alice: string
  let alice2: string
  let bob: string
  let aliceKeyId: string

  const {
    call: api,
    createUser,
    createKey,
  } = gatewayApi(
    () => gateway.url,
    () => gateway.masterKey,
  )

  const chat = async (token: string, content: string, options: { session?: string; stream?: boolean } = {}) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...(options.session !== undefined ? { "x-session-id": options.session } : {}),
      },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content }],
        ...(options.stream ? { stream: true } : {}),
      }),
    })
    return { status: response.status, text: await response.text() }
  }

  const context = (token: string, session: string) => api("GET", `/context/${encodeURIComponent(session)}`, token)

  /** Entries are written off the request path: wait until `count` are readable. */
  const entriesOf = async (token: string, session: string, count: number): Promise<Array<ContextEntry>> => {
    const deadline = Date.now() + 3_000
    for (;;) {
      const answer = await context(token, session)
      if (answer.status === 200 && answer.body.entries.length >= count) return answer.body.entries
      if (Date.now() > deadline) throw new Error(`context of '${session}': ${answer.status} ${answer.text}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["gpt-4o-mini"] })
    gateway = await startTestGateway({
      env: {
        SESSION_CONTEXT_MAX_ENTRIES: String(MAX_ENTRIES),
        SESSION_CONTEXT_MAX_BYTES: String(MAX_BYTES),
        SESSION_CONTEXT_TTL: "2 seconds",
        UPSTREAM_IDLE_TIMEOUT: "500 millis",
        CIRCUIT_FAILURE_THRESHOLD: "1000",
      },
      gatewayFile: {
        providers: [
          { id: "oai", protocol: "openai", base_url: mock.url, keys: [{ value: "sk-oai" }], models: ["gpt-4o-mini"] },
        ],
      },
    })
    const aliceId = await createUser("alice")
    const bobId = await createUser("bob")
    const a = await createKey(aliceId, "alice-main")
    alice = a.token
    aliceKeyId = a.id
    alice2 = (await createKey(aliceId, "alice-other")).token
    bob = (await createKey(bobId, "bob-main")).token
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
  })

  beforeEach(() => mock.reset())

  it("stores a JSON exchange and gives it back to the key that wrote it", async () => {
    const answer = await chat(alice, "remember me", { session: "conv-json" })
    expect(answer.status).toBe(200)
    const [entry, ...rest] = await entriesOf(alice, "conv-json", 1)
    expect(rest).toHaveLength(0)
    expect(entry).toMatchObject({ provider: "oai", model: "gpt-4o-mini", stream: false, complete: true })
    expect(Date.parse(entry!.at)).toBeGreaterThan(Date.now() - 10_000)
    expect(JSON.parse(entry!.request)).toMatchObject({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "remember me" }],
    })
    expect(JSON.parse(entry!.response).choices[0].message.content).toBe("Hello from mock: remember me")
  })

  it("stores a streamed exchange: the request and the first client frames; an unfinished stream is marked", async () => {
    await chat(alice, "stream me", { session: "conv-stream", stream: true })
    const [entry] = await entriesOf(alice, "conv-stream", 1)
    expect(entry).toMatchObject({ provider: "oai", stream: true, complete: true })
    expect(entry!.response).toContain("data: ")
    expect(entry!.response).toContain("mock")
    expect(entry!.response).toContain("[DONE]")

    // A stall the gateway continues (mid-stream rescue): one entry, the whole answer the client got.
    mock.script({ stallAfterChunks: 3 })
    const rescued = await chat(alice, "a b c d e f", { session: "conv-stream", stream: true })
    expect(rescued.text).not.toContain('"error"')
    const [continued] = await entriesOf(alice, "conv-stream", 2)
    expect(continued!.complete).toBe(true)
    expect(continued!.response).toContain("[DONE]")

    // One it cannot continue (the new answer does not start with what was sent): marked unfinished.
    mock.script({ stallAfterChunks: 3 }, { text: "Something else entirely" })
    const stalled = await chat(alice, "a b c d e f", { session: "conv-stream", stream: true })
    expect(stalled.text).toContain('"error"')
    const [latest, , first] = await entriesOf(alice, "conv-stream", 3)
    expect(latest!.complete).toBe(false)
    expect(latest!.response).toContain('"error"')
    expect(first).toEqual(entry)
  })

  it("caps each snippet's size with a marker, and keeps only the newest entries", async () => {
    const long = "x".repeat(4 * MAX_BYTES)
    mock.setDefault({ text: "y".repeat(4 * MAX_BYTES) })
    await chat(alice, long, { session: "conv-big" })
    await chat(alice, long, { session: "conv-big", stream: true })
    const entries = await entriesOf(alice, "conv-big", 2)
    for (const entry of entries) {
      expect(entry.request).toMatch(/…\[truncated: \d+ bytes in all\]$/)
      expect(entry.response).toMatch(/…\[truncated: \d+ bytes in all\]$/)
      expect(Buffer.byteLength(entry.request)).toBeLessThan(MAX_BYTES + 64)
      expect(Buffer.byteLength(entry.response)).toBeLessThan(MAX_BYTES + 64)
    }
    mock.setDefault(undefined)

    for (let i = 1; i <= MAX_ENTRIES + 2; i++) await chat(alice, `turn ${i}`, { session: "conv-many" })
    const deadline = Date.now() + 3_000
    let entries2: Array<ContextEntry> = []
    while (Date.now() < deadline) {
      entries2 = await entriesOf(alice, "conv-many", 1)
      if (entries2[0]!.request.includes(`turn ${MAX_ENTRIES + 2}`)) break
      await new Promise((r) => setTimeout(r, 25))
    }
    expect(entries2).toHaveLength(MAX_ENTRIES)
    expect(entries2.map((e) => JSON.parse(e.request).messages[0].content)).toEqual(["turn 5", "turn 4", "turn 3"])
  })

  it("is private to its owner: another key, another user → 404; an admin sees it with its owner", async () => {
    await chat(alice, "secret plans", { session: "conv-private" })
    await entriesOf(alice, "conv-private", 1)
    const other = await context(alice2, "conv-private")
    expect(other.status).toBe(404)
    expect(other.text).not.toContain("secret plans")
    const stranger = await context(bob, "conv-private")
    expect(stranger.status).toBe(404)
    // The same answer as for a session that does not exist at all.
    const missing = await context(bob, "conv-never-used")
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe(stranger.body.error.code)

    // Bob using the same id writes his own, separate context.
    await chat(bob, "bob's turn", { session: "conv-private" })
    const bobs = await entriesOf(bob, "conv-private", 1)
    expect(bobs).toHaveLength(1)
    expect(bobs[0]!.request).toContain("bob's turn")
    expect((await entriesOf(alice, "conv-private", 1)).map((e) => e.request).join()).not.toContain("bob's turn")

    const admin = await entriesOf(gateway.masterKey, "conv-private", 2)
    expect(admin).toHaveLength(2)
    expect(admin[0]!.request).toContain("bob's turn")
    expect(admin[1]!.request).toContain("secret plans")
    expect(admin[1]!.owner).toBe(`key:${aliceKeyId}`)
  })

  it("stores nothing without a session id, and entries expire after the TTL", async () => {
    await chat(alice, "no session")
    await chat(alice, "expiring", { session: "conv-ttl" })
    await entriesOf(alice, "conv-ttl", 1)
    const admin = await context(gateway.masterKey, "no session")
    expect(admin.status).toBe(404)
    await new Promise((r) => setTimeout(r, 2_300))
    expect((await context(alice, "conv-ttl")).status).toBe(404)
    expect((await context(gateway.masterKey, "conv-ttl")).status).toBe(404)
  })

  it("requires an API key", async () => {
    const response = await fetch(`${gateway.url}/context/conv-json`)
    expect(response.status).toBe(401)
  })
})
