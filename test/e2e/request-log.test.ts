import Anthropic from "@anthropic-ai/sdk"
import { GoogleGenAI } from "@google/genai"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { gatewayApi } from "../support/GatewayApi.js"
import { restrictedKey } from "../support/RestrictedKey.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * The request log end to end, read through `GET /logs` as an operator would: requests through
 * the official SDKs — JSON, streamed, failed over, rescued mid-stream, refused — leave exactly the
 * rows expected, visible as soon as each request has finished (the endpoint writes what is
 * buffered first); filters, a cursor walk over more rows than a page, who sees which rows, and
 * hostile filter values. Runs on the embedded database and on Postgres (DATABASE_URL) alike.
 */

type Row = Record<string, unknown> & {
  readonly id: string
  readonly request_id: string
  readonly attempts: ReadonlyArray<Record<string, unknown>>
}
interface Page {
  readonly rows: ReadonlyArray<Row>
  readonly next_cursor: string | null
}

describe("request log through GET /logs (real server)", () => {
  let primary: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let rows: Map<string, Row>
  let restrictedUser: string
  /** `x-apiproxy-cost` of the JSON answer. */
  let jsonCost: string | null
  /** Two users with a key each, and a login session of the first. */
  let alice: { id: string; key: { id: string; token: string }; session: string }
  let bob: { id: string; key: { id: string; token: string } }
  const api = gatewayApi(
    () => gateway.url,
    () => gateway.masterKey,
  )
  const messages = [{ role: "user" as const, content: "hi" }]
  const id = (requestId: string) => ({ headers: { "x-request-id": requestId } })
  const openaiAs = (apiKey: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0 })

  /** One page of `GET /logs?query` as `token` sees it. */
  const logs = async (query: string, token = gateway.masterKey) => {
    const answer = await api.call("GET", `/logs${query === "" ? "" : `?${query}`}`, token)
    return answer as { status: number; body: Page & { _tag?: string; message?: string } }
  }
  /** Every page of `query`, following next_cursor. */
  const walk = async (query: string, token = gateway.masterKey) => {
    const pages: Array<Page> = []
    let cursor: string | null = null
    do {
      const answer = await logs(
        [query, cursor === null ? "" : `cursor=${encodeURIComponent(cursor)}`].filter((q) => q !== "").join("&"),
        token,
      )
      expect(answer.status).toBe(200)
      pages.push(answer.body)
      cursor = answer.body.next_cursor
    } while (cursor !== null && pages.length < 100)
    return pages
  }
  const requestIds = async (query: string, token = gateway.masterKey) =>
    (await walk(query, token)).flatMap((page) => page.rows.map((row) => row.request_id)).sort()

  beforeAll(async () => {
    primary = await startMockProvider({ models: ["gpt-4o-mini"] })
    backup = await startMockProvider({ models: ["gpt-4.1-mini"] })
    gateway = await startTestGateway({
      gatewayFile: {
        providers: [
          {
            id: "primary",
            protocol: "openai",
            base_url: primary.url,
            keys: [{ value: "sk-primary-secret" }],
            models: ["gpt-4o-mini"],
          },
          {
            id: "backup",
            protocol: "openai",
            base_url: backup.url,
            keys: [{ value: "sk-backup-secret" }],
            models: ["gpt-4.1-mini"],
          },
          {
            id: "other",
            protocol: "openai",
            base_url: backup.url,
            keys: [{ value: "sk-other-secret" }],
            models: ["other-model"],
          },
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
    const openai = openaiAs(masterKey)
    const anthropic = new Anthropic({ baseURL: url, apiKey: masterKey, maxRetries: 0 })
    const gemini = new GoogleGenAI({ apiKey: masterKey, httpOptions: { baseUrl: url } })

    jsonCost = (
      await openai.chat.completions.create({ model: "fast", messages }, id("rl-json")).withResponse()
    ).response.headers.get("x-apiproxy-cost")
    const streamed = await openai.chat.completions.create({ model: "fast", messages, stream: true }, id("rl-stream"))
    for await (const _ of streamed) void _
    primary.script({ status: 503 })
    await openai.chat.completions.create({ model: "fast", messages }, id("rl-failover"))
    primary.script({ cutAfterChunks: 2 })
    const rescued = await anthropic.messages
      .stream({ model: "fast", max_tokens: 50, messages: [{ role: "user", content: "cut" }] }, id("rl-rescued"))
      .finalText()
    expect(rescued).toBe("Hello from mock: cut")
    await gemini.models.generateContent({
      model: "fast",
      contents: "hi",
      config: { httpOptions: { headers: { "x-request-id": "rl-gemini" } } },
    })
    primary.script({ status: 400, errorMessage: "Invalid 'messages': bad key sk-proj-abcdefghijklmnopqrstu" })
    await expect(
      openai.chat.completions.create({ model: "fast", messages }, id("rl-relayed-400")),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError)
    await expect(
      openai.chat.completions.create({ model: "no-such-model", messages }, id("rl-unknown")),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    // A key limited to a provider that does not serve the model: refused before any upstream, logged as the key's.
    const restricted = await restrictedKey(url, masterKey, "rl-user", ["other"])
    await expect(
      openaiAs(restricted).chat.completions.create({ model: "fast", messages }, id("rl-refused")),
    ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError)
    const users = (await api.call("GET", "/users", masterKey)).body as Array<{ id: string; username: string }>
    restrictedUser = users.find((u) => u.username === "rl-user")!.id
    // Not authenticated: no row.
    await expect(
      openaiAs("apx-not-a-key").chat.completions.create({ model: "fast", messages }, id("rl-stranger")),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError)

    // No shutdown, no wait: GET /logs writes what the gateway still holds before it reads.
    rows = new Map((await walk("")).flatMap((page) => page.rows).map((row) => [row.request_id, row]))

    const aliceId = await api.createUser("rl-alice")
    const login = await api.call("POST", "/auth/login", "", {
      username: "rl-alice",
      password: "rl-alice-password-1234",
    })
    expect(login.status).toBe(200)
    alice = { id: aliceId, key: await api.createKey(aliceId, "alice app"), session: login.body.access_token }
    const bobId = await api.createUser("rl-bob")
    bob = { id: bobId, key: await api.createKey(bobId, "bob app") }
  }, 60_000)

  afterAll(async () => {
    await gateway?.close()
    await primary?.close()
    await backup?.close()
  })

  it("one row per authenticated request, none for the unauthenticated one", () => {
    expect([...rows.keys()].sort()).toEqual(
      [
        "rl-failover",
        "rl-gemini",
        "rl-json",
        "rl-refused",
        "rl-relayed-400",
        "rl-rescued",
        "rl-stream",
        "rl-unknown",
      ].sort(),
    )
  })

  it("a JSON answer: every field of the row — caller, route, model asked and served, one attempt, tokens, latency, its cost as x-apiproxy-cost said; no body fields", () => {
    const row = rows.get("rl-json")!
    expect(Object.keys(row).sort()).toEqual(
      [
        "id",
        "started_at",
        "request_id",
        "user_id",
        "api_key_id",
        "dialect",
        "endpoint",
        "requested_model",
        "stream",
        "provider",
        "model",
        "attempts",
        "status",
        "complete",
        "rescued",
        "latency_ms",
        "ttft_ms",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "reasoning_tokens",
        "cost_usd",
        "error_class",
        "error_message",
      ].sort(),
    )
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
    expect(row.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(Date.now() - Date.parse(row.started_at as string)).toBeLessThan(120_000)
    expect(row.attempts).toEqual([
      { provider: "primary", model: "gpt-4o-mini", outcome: "ok", status: 200, ms: expect.any(Number) },
    ])
    expect(row.input_tokens).toBeGreaterThan(0)
    expect(row.output_tokens).toBeGreaterThan(0)
    expect(row.latency_ms).toBeGreaterThanOrEqual(0)
    expect(jsonCost).toMatch(/^\d+\.\d+$/)
    expect(row.cost_usd).toBe(jsonCost)
    expect(Number(row.cost_usd)).toBeGreaterThan(0)
  })

  it("a stream: its time to first token, within its latency, and its usage", () => {
    const row = rows.get("rl-stream")!
    expect(row).toMatchObject({ stream: true, status: 200, complete: true, provider: "primary", error_class: null })
    expect(row.ttft_ms).toEqual(expect.any(Number))
    expect(row.ttft_ms as number).toBeLessThanOrEqual(row.latency_ms as number)
    expect(row.output_tokens).toBeGreaterThan(0)
  })

  it("a failover: every attempt, in order, with the upstream's status; served by the second", () => {
    const row = rows.get("rl-failover")!
    expect(row).toMatchObject({ status: 200, complete: true, provider: "backup", model: "gpt-4.1-mini" })
    expect(row.attempts.map((a) => [a.provider, a.outcome, a.status])).toEqual([
      ["primary", "http", 503],
      ["backup", "ok", 200],
    ])
  })

  it("a stream cut and rescued: the cut attempt, the continuation, complete, rescued, no error", () => {
    const row = rows.get("rl-rescued")!
    expect(row).toMatchObject({
      dialect: "anthropic",
      endpoint: "/v1/messages",
      stream: true,
      status: 200,
      complete: true,
      rescued: true,
      provider: "primary",
      error_class: null,
    })
    expect(row.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["primary", "cut"],
      ["backup", "ok"],
    ])
    // What the continuation used is priced; the cut part reported no usage.
    expect(Number(row.cost_usd)).toBeGreaterThan(0)
  })

  it("Gemini: its dialect, and its endpoint without the model in the path", () => {
    expect(rows.get("rl-gemini")).toMatchObject({
      dialect: "gemini",
      endpoint: "/v1beta/models/*:generateContent",
      requested_model: "fast",
      status: 200,
      complete: true,
    })
  })

  it("refusals: the provider's 400 relayed (its message redacted), an unknown model, a key not allowed — each with its error class", () => {
    const relayed = rows.get("rl-relayed-400")!
    expect(relayed).toMatchObject({ status: 400, complete: false, error_class: "UpstreamStatusError", provider: null })
    expect(relayed.attempts.map((a) => [a.provider, a.outcome, a.status])).toEqual([["primary", "http", 400]])
    expect(relayed.error_message).toContain("Invalid 'messages'")
    expect(relayed.error_message).not.toContain("sk-proj-abcdefghijklmnopqrstu")
    expect(rows.get("rl-unknown")).toMatchObject({
      status: 404,
      error_class: "ModelNotFound",
      requested_model: "no-such-model",
      attempts: [],
      cost_usd: null,
    })
    expect(rows.get("rl-refused")).toMatchObject({
      status: 403,
      error_class: "ProviderNotAllowed",
      user_id: restrictedUser,
      api_key_id: expect.any(String),
      attempts: [],
    })
  })

  it("filters: model asked or served, provider, exact status or its class, error class, user, key, time range — combined with AND", async () => {
    const all = [...rows.keys()].filter((r) => r.startsWith("rl-"))
    expect(await requestIds("model=fast")).toEqual(all.filter((r) => r !== "rl-unknown").sort())
    // Served by gpt-4.1-mini: the failover (a rescued stream counts as served by its first upstream).
    expect(await requestIds("model=gpt-4.1-mini")).toEqual(["rl-failover"])
    expect(await requestIds("model=no-such-model")).toEqual(["rl-unknown"])
    expect(await requestIds("provider=backup")).toEqual(["rl-failover"])
    expect(await requestIds("status=404")).toEqual(["rl-unknown"])
    expect(await requestIds("status=4xx")).toEqual(["rl-refused", "rl-relayed-400", "rl-unknown"])
    expect(await requestIds("status=4XX&provider=primary")).toEqual([])
    expect(await requestIds("status=2xx&provider=primary")).toEqual(["rl-gemini", "rl-json", "rl-rescued", "rl-stream"])
    expect(await requestIds("error_class=ModelNotFound")).toEqual(["rl-unknown"])
    expect(await requestIds(`user_id=${restrictedUser}`)).toEqual(["rl-refused"])
    expect(await requestIds(`api_key_id=${rows.get("rl-refused")!.api_key_id}`)).toEqual(["rl-refused"])
    const json = rows.get("rl-json")!
    const stream = rows.get("rl-stream")!
    const window = `from=${encodeURIComponent(json.started_at as string)}&to=${encodeURIComponent(stream.started_at as string)}`
    // `from` inclusive, `to` exclusive (unless both started in the same millisecond).
    if (json.started_at !== stream.started_at) expect(await requestIds(window)).toEqual(["rl-json"])
    expect(await requestIds(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([])
  })

  it("pagination: more rows than a page; the default page is 100 rows; a cursor walk returns each row once, newest first", async () => {
    const client = openaiAs(bob.key.token)
    for (let i = 0; i < 105; i++)
      await client.chat.completions.create({ model: "gpt-4o-mini", messages }, id(`rl-page-${i}`))
    const first = await logs(`user_id=${bob.id}`)
    expect(first.status).toBe(200)
    expect(first.body.rows).toHaveLength(100)
    expect(first.body.next_cursor).toEqual(expect.any(String))
    // Newest first: the last request made is the first row.
    expect(first.body.rows[0]!.request_id).toBe("rl-page-104")

    const pages = await walk(`user_id=${bob.id}&limit=7`)
    expect(pages.map((page) => page.rows.length)).toEqual([...Array(15).fill(7)])
    expect(pages.at(-1)!.next_cursor).toBeNull()
    const walked = pages.flatMap((page) => page.rows)
    expect(new Set(walked.map((row) => row.id)).size).toBe(105)
    expect(walked.map((row) => row.request_id)).toEqual(Array.from({ length: 105 }, (_, i) => `rl-page-${104 - i}`))
    for (let i = 1; i < walked.length; i++)
      expect(Date.parse(walked[i - 1]!.started_at as string)).toBeGreaterThanOrEqual(
        Date.parse(walked[i]!.started_at as string),
      )
    // The largest page.
    const big = await logs("limit=500")
    expect(big.body.rows.length).toBe(rows.size + 105)
    expect(big.body.next_cursor).toBeNull()
  })

  it("tenancy: a user's key and login session see only the user's rows; another user's rows are 403 by user_id and empty by key; the master key sees all", async () => {
    await openaiAs(alice.key.token).chat.completions.create({ model: "gpt-4o-mini", messages }, id("rl-alice-1"))
    await openaiAs(bob.key.token).chat.completions.create({ model: "gpt-4o-mini", messages }, id("rl-bob-1"))
    for (const token of [alice.key.token, alice.session]) {
      expect(await requestIds("", token)).toEqual(["rl-alice-1"])
      expect(await requestIds(`user_id=${alice.id}`, token)).toEqual(["rl-alice-1"])
      const other = await logs(`user_id=${bob.id}`, token)
      expect([other.status, other.body._tag]).toEqual([403, "Forbidden"])
      expect(await requestIds(`api_key_id=${bob.key.id}`, token)).toEqual([])
      expect(await requestIds("model=gpt-4o-mini", token)).toEqual(["rl-alice-1"])
    }
    const everything = await requestIds("limit=500")
    expect(everything).toContain("rl-alice-1")
    expect(everything).toContain("rl-bob-1")
    expect(everything).toContain("rl-json")
    expect(await requestIds(`user_id=${bob.id}&model=gpt-4o-mini&status=200&limit=500`)).toContain("rl-bob-1")
    // No credential, or a wrong one.
    expect((await fetch(`${gateway.url}/logs`)).status).toBe(401)
    expect((await logs("", "apx-not-a-key")).status).toBe(401)
  })

  it("hostile filter values are refused with 400 and a short message; the gateway keeps serving", async () => {
    const hostile: Array<[string, RegExp]> = [
      ["from=yesterday", /^from:/],
      ["to=2025-13-45T00:00:00Z", /^to:/],
      ["from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z", /'from' must be before 'to'/],
      ["user_id=1%27%20OR%20%271%27%3D%271", /^user_id: expected a user id/],
      ["api_key_id=1%27%20OR%201%3D1", /^api_key_id: expected an API key id/],
      ["error_class=%00", /NUL character/],
      [`model=${"m".repeat(257)}`, /^model: Invalid model: longer than 256/],
      ["model=a%0d%0aX-Injected:%201", /^model: Invalid model/],
      ["model=..%2F..%2Fetc", /^model: Invalid model/],
      ["model=%E6%A8%A1%E5%9E%8B", /^model: Invalid model/],
      ["provider=Primary", /^provider:/],
      ["provider=p%27%3B--", /^provider:/],
      ["status=600", /^status:/],
      ["status=5x", /^status:/],
      ["status=4xxx", /^status:/],
      ["status=-1", /^status:/],
      ["error_class=Not%20A%20Class", /^error_class:/],
      [`error_class=${"E".repeat(65)}`, /^error_class:/],
      ["cursor=not-a-cursor", /^cursor:/],
      [
        `cursor=${Buffer.from("1|2025-01-01T00:00:00.000000Z'; DROP TABLE request_log; --|x").toString("base64url")}`,
        /^cursor:/,
      ],
      [`cursor=${"A".repeat(2_000)}`, /^cursor:/],
      ["limit=0", /^limit:/],
      ["limit=501", /^limit:/],
      ["limit=1.5", /^limit:/],
      ["limit=abc", /^limit:/],
      ["model=a&model=b", /^model:/],
    ]
    for (const [query, message] of hostile) {
      const answer = await logs(query)
      expect([query, answer.status, answer.body._tag]).toEqual([query, 400, "BadRequest"])
      expect(answer.body.message, query).toMatch(message)
      expect(answer.body.message!.length, query).toBeLessThan(300)
    }
    // Still serving, the log intact.
    expect((await logs("limit=1")).status).toBe(200)
    expect(await requestIds("error_class=ModelNotFound")).toEqual(["rl-unknown"])
  })

  /** Alice's rows by request id. */
  const aliceRows = async () =>
    new Map(
      (await walk(`api_key_id=${alice.key.id}&limit=500`, alice.session))
        .flatMap((page) => page.rows)
        .map((row) => [row.request_id, row]),
    )

  it("log_bodies: off by default and shown on read; the key's owner (a login session) or a superuser sets it; another user or the key itself cannot", async () => {
    const keyPath = `/users/${alice.id}/api-keys/${alice.key.id}`
    expect((await api.call("GET", keyPath, alice.session)).body.log_bodies).toBe(false)
    // A non-superuser's API key manages no key, its own included.
    expect((await api.call("PUT", keyPath, alice.key.token, { log_bodies: true })).status).toBe(403)
    const bobLogin = await api.call("POST", "/auth/login", "", { username: "rl-bob", password: "rl-bob-password-1234" })
    const bobSession = bobLogin.body.access_token as string
    expect((await api.call("PUT", keyPath, bobSession, { log_bodies: true })).status).toBe(403)
    expect(
      (await api.call("POST", `/users/${alice.id}/api-keys`, bobSession, { name: "sneaky", log_bodies: true })).status,
    ).toBe(403)
    expect((await api.call("GET", keyPath, gateway.masterKey)).body.log_bodies).toBe(false)
    const invalid = await api.call("PUT", keyPath, alice.session, { log_bodies: "yes" })
    expect([invalid.status, invalid.body._tag]).toEqual([400, "BadRequest"])

    const on = await api.call("PUT", keyPath, alice.session, { log_bodies: true })
    expect([on.status, on.body.log_bodies]).toEqual([200, true])
    expect(
      (await api.call("GET", `/users/${alice.id}/api-keys`, alice.session)).body.find(
        (k: { id: string }) => k.id === alice.key.id,
      ).log_bodies,
    ).toBe(true)
    // A superuser may set it when creating a key, for anyone.
    const created = await api.call("POST", `/users/${bob.id}/api-keys`, gateway.masterKey, {
      name: "bob logged",
      log_bodies: true,
    })
    expect([created.status, created.body.log_bodies]).toEqual([201, true])
    const off = await api.call("PUT", `/users/${bob.id}/api-keys/${created.body.id}`, gateway.masterKey, {
      log_bodies: false,
    })
    expect(off.body.log_bodies).toBe(false)
  })

  it("on: the request and the answer kept, credentials redacted — JSON, a stream's text, a rescued stream whole, a tool call's raw stream, an error; over 32 KiB cut and marked", async () => {
    const client = openaiAs(alice.key.token)
    const secretBody = {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "my key is sk-proj-abcdefghijklmnopqrstu, keep it" }],
      api_key: "alice-plain-secret",
    }
    const json = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${alice.key.token}`,
        "content-type": "application/json",
        "x-request-id": "rb-json",
      },
      body: JSON.stringify(secretBody),
    })
    expect(json.status).toBe(200)
    const answered = await json.text()
    const streamed = await client.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "stream please" }], stream: true },
      id("rb-stream"),
    )
    for await (const _ of streamed) void _
    primary.script({ cutAfterChunks: 2 })
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: alice.key.token, maxRetries: 0 })
    expect(
      await anthropic.messages
        .stream({ model: "fast", max_tokens: 50, messages: [{ role: "user", content: "cut" }] }, id("rb-rescued"))
        .finalText(),
    ).toBe("Hello from mock: cut")
    primary.script({ toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] })
    const tool = await client.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "weather?" }], stream: true },
      id("rb-tool"),
    )
    for await (const _ of tool) void _
    await expect(
      client.chat.completions.create({ model: "no-such-model", messages }, id("rb-error")),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await client.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "€".repeat(20_000) }] },
      id("rb-big"),
    )
    // Relayed answers (pass-through): the first of the bytes as text; audio is no text and is not kept.
    const relayed = await client.completions.create(
      { model: "gpt-4o-mini", prompt: "relay me", stream: true },
      id("rb-relay"),
    )
    for await (const _ of relayed) void _
    const speech = await client.audio.speech.create(
      { model: "gpt-4o-mini", voice: "alloy", input: "hi" },
      id("rb-audio"),
    )
    expect((await speech.arrayBuffer()).byteLength).toBeGreaterThan(0)

    const stored = await aliceRows()
    const row = stored.get("rb-json")!
    expect(row.bodies_truncated).toBe(false)
    const request = row.request_body as string
    expect(request).not.toContain("sk-proj-abcdefghijklmnopqrstu")
    expect(request).not.toContain("alice-plain-secret")
    expect(JSON.parse(request)).toEqual({
      ...secretBody,
      messages: [{ role: "user", content: "my key is [redacted], keep it" }],
      api_key: "[redacted]",
    })
    // The mock echoes the prompt: the key is redacted in the answer too.
    expect(answered).toContain("sk-proj-abcdefghijklmnopqrstu")
    expect(row.response_body).toBe(answered.replace("sk-proj-abcdefghijklmnopqrstu", "[redacted]"))

    expect(stored.get("rb-stream")).toMatchObject({
      response_body: "Hello from mock: stream please",
      bodies_truncated: false,
    })
    expect(JSON.parse(stored.get("rb-stream")!.request_body as string)).toMatchObject({ stream: true })
    expect(stored.get("rb-rescued")).toMatchObject({
      rescued: true,
      complete: true,
      response_body: "Hello from mock: cut",
    })
    // A tool call is not text: the stream as the client got it.
    const toolStream = stored.get("rb-tool")!.response_body as string
    expect(toolStream).toMatch(/^data: \{/)
    expect(toolStream).toContain("get_weather")
    expect(toolStream).toContain("data: [DONE]")
    const error = stored.get("rb-error")!
    expect(error).toMatchObject({ status: 404, error_class: "ModelNotFound" })
    expect(JSON.parse(error.response_body as string)).toMatchObject({
      error: { message: expect.stringContaining("no-such-model") },
    })
    const big = stored.get("rb-big")!
    expect(big.bodies_truncated).toBe(true)
    expect(Buffer.byteLength(big.request_body as string)).toBeLessThanOrEqual(32 * 1024)
    expect(Buffer.byteLength(big.request_body as string)).toBeGreaterThan(32 * 1024 - 4)
    expect(
      (big.request_body as string).startsWith('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"€€€'),
    ).toBe(true)
    const relay = stored.get("rb-relay")!.response_body as string
    expect(relay).toMatch(/^data: \{/)
    expect(relay).toContain("data: [DONE]")
    expect(stored.get("rb-audio")).toMatchObject({
      status: 200,
      request_body: expect.stringContaining('"voice":"alloy"'),
    })
    expect(stored.get("rb-audio")).not.toHaveProperty("response_body")
  })

  it("off: no body is kept — for a key that never kept them, and once its owner turns it off", async () => {
    const bobRows = (await walk(`user_id=${bob.id}&limit=500`)).flatMap((page) => page.rows)
    expect(bobRows.length).toBeGreaterThan(100)
    for (const row of bobRows) {
      expect(row).not.toHaveProperty("request_body")
      expect(row).not.toHaveProperty("response_body")
      expect(row).not.toHaveProperty("bodies_truncated")
    }
    // Before alice turned it on.
    expect((await aliceRows()).get("rl-alice-1")).not.toHaveProperty("request_body")
    const off = await api.call("PUT", `/users/${alice.id}/api-keys/${alice.key.id}`, alice.session, {
      log_bodies: false,
    })
    expect(off.body.log_bodies).toBe(false)
    await openaiAs(alice.key.token).chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "no longer kept" }] },
      id("rb-off"),
    )
    const row = (await aliceRows()).get("rb-off")!
    expect(row.status).toBe(200)
    expect(row).not.toHaveProperty("request_body")
    expect(row).not.toHaveProperty("response_body")
  })

  it("GET /logs is in the OpenAPI document, with its filters", async () => {
    const spec = (await api.call("GET", "/openapi.json", gateway.masterKey)).body as {
      paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }>
    }
    const parameters = spec.paths["/logs"]?.get?.parameters?.map((p) => p.name).sort()
    expect(parameters).toEqual([
      "api_key_id",
      "cursor",
      "error_class",
      "from",
      "limit",
      "model",
      "provider",
      "status",
      "to",
      "user_id",
    ])
  })
})
