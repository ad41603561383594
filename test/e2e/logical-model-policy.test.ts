import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * A logical model's own limits (issue 12 item 4): `timeouts: { first_token, idle, request }`,
 * `retries` and `rescue` in the providers file and over the management API override the
 * gateway's defaults for that model only. The defaults here are deliberately long, so a test
 * that finishes quickly shows the override was applied.
 */
describe("per-logical-model timeouts, retries and rescue", () => {
  let primary: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let client: OpenAI

  const pair = (id: string, policy: Record<string, unknown>) => ({
    id,
    upstreams: [
      { provider: "main", model: `${id}-main`, priority: 0 },
      { provider: "fb", model: `${id}-fb`, priority: 1 },
    ],
    ...policy,
  })
  const models = ["quick", "idle", "noretry", "norescue", "deadline", "plain"]

  beforeAll(async () => {
    primary = await startMockProvider()
    backup = await startMockProvider()
    gateway = await startTestGateway({
      env: {
        UPSTREAM_HEADERS_TIMEOUT: "20 seconds",
        UPSTREAM_FIRST_TOKEN_TIMEOUT: "20 seconds",
        UPSTREAM_IDLE_TIMEOUT: "20 seconds",
        UPSTREAM_REQUEST_DEADLINE: "60 seconds",
        CIRCUIT_FAILURE_THRESHOLD: "1000",
      },
      gatewayFile: {
        providers: [
          {
            id: "main",
            protocol: "openai",
            base_url: primary.url,
            keys: [{ value: "sk-main" }],
            models: models.map((m) => `${m}-main`),
          },
          {
            id: "fb",
            protocol: "openai",
            base_url: backup.url,
            keys: [{ value: "sk-fb" }],
            models: models.map((m) => `${m}-fb`),
          },
        ],
        logical_models: [
          pair("quick", { timeouts: { first_token: 0.4 } }),
          pair("idle", { timeouts: { idle: 0.4 } }),
          pair("noretry", { retries: 0 }),
          pair("norescue", { rescue: false }),
          pair("deadline", { timeouts: { request: 0.6, first_token: 5 }, retries: 5 }),
          pair("plain", {}),
        ],
      },
    })
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
  })

  afterAll(async () => {
    await gateway?.close()
    await primary?.close()
    await backup?.close()
  })

  beforeEach(() => {
    primary.reset()
    backup.reset()
  })

  const forModel = (mock: MockProvider, model: string) => mock.received.filter((r) => r.model === model)
  const streamText = async (model: string) => {
    const started = Date.now()
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "hi there" }],
      stream: true,
    })
    let text = ""
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ""
      return { text, ms: Date.now() - started, error: undefined }
    } catch (error) {
      return { text, ms: Date.now() - started, error }
    }
  }

  it("first_token: a silent primary is left after the model's own limit, not retried, and the fallback answers", async () => {
    primary.setDefault({ hang: true })
    const answer = await streamText("quick")
    expect(answer.text).toBe("Hello from mock: hi there")
    expect(answer.ms).toBeLessThan(3_000)
    // A silent route is not retried: the next candidate at once.
    expect(forModel(primary, "quick-main")).toHaveLength(1)
    expect(forModel(backup, "quick-fb")).toHaveLength(1)
  })

  it("idle: a stall inside the stream is detected after the model's own idle limit and the answer continued", async () => {
    primary.script({ stallAfterChunks: 2 })
    const answer = await streamText("idle")
    expect(answer.text).toBe("Hello from mock: hi there")
    expect(answer.ms).toBeLessThan(3_000)
  })

  it("retries: 0 sends a transient failure straight to the fallback; the default retries the same upstream", async () => {
    primary.script({ status: 500 }, { status: 500 })
    await client.chat.completions.create({ model: "noretry", messages: [{ role: "user", content: "x" }] })
    expect(forModel(primary, "noretry-main")).toHaveLength(1)
    expect(forModel(backup, "noretry-fb")).toHaveLength(1)

    primary.reset()
    backup.reset()
    primary.script({ status: 500 })
    await client.chat.completions.create({ model: "plain", messages: [{ role: "user", content: "x" }] })
    expect(forModel(primary, "plain-main")).toHaveLength(2)
    expect(forModel(backup, "plain-fb")).toHaveLength(0)
  })

  it("rescue: false ends a broken stream with the in-band error; the default continues it", async () => {
    primary.script({ cutAfterChunks: 3 })
    const off = await streamText("norescue")
    expect(off.error).toBeInstanceOf(OpenAI.APIError)
    expect(forModel(backup, "norescue-fb")).toHaveLength(0)

    primary.script({ cutAfterChunks: 3 })
    const on = await streamText("plain")
    expect(on.error).toBeUndefined()
    expect(on.text).toBe("Hello from mock: hi there")
  })

  it("request: the model's deadline bounds every retry and fallback together", async () => {
    primary.setDefault({ status: 503 })
    backup.setDefault({ status: 503 })
    const started = Date.now()
    const error = await client.chat.completions
      .create({ model: "deadline", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it("the management API stores, shows and applies a logical model's policy", async () => {
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${gateway.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))
    const created = await admin("POST", "/logical-models", {
      id: "api-quick",
      upstreams: [
        { provider: "main", model: "quick-main", priority: 0 },
        { provider: "fb", model: "quick-fb", priority: 1 },
      ],
      timeouts: { first_token: 0.4 },
      retries: 1,
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ timeouts: { first_token: 0.4 }, retries: 1 })
    expect((await admin("GET", "/logical-models/api-quick")).body).toMatchObject({
      timeouts: { first_token: 0.4 },
      retries: 1,
    })
    const invalid = await admin("POST", "/logical-models", {
      id: "api-bad",
      upstreams: [{ provider: "main", model: "quick-main" }],
      timeouts: { first_token: -1 },
    })
    expect(invalid.status).toBe(400)
    expect(invalid.body.message).toContain("timeouts.first_token")

    primary.setDefault({ hang: true })
    const answer = await streamText("api-quick")
    expect(answer.text).toBe("Hello from mock: hi there")
    expect(answer.ms).toBeLessThan(3_000)
  })
})
