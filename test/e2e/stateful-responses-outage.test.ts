import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import type { TcpProxy } from "../support/TcpProxy.js"
import {
  OUTAGE_DATABASE_URL,
  proxiedStorage,
  type SharedStorage,
  startTestGateway,
  type TestGateway,
} from "../support/TestGateway.js"

/**
 * Stored Responses while the database is unreachable (the gateway reaches Postgres through a
 * loopback proxy the test cuts; against DATABASE_URL when set, else the Postgres on
 * 127.0.0.1:5432): a new turn is still answered, saying `store: false` when it could not be kept;
 * continuing or reading a stored response is a 503 to retry, never a wrong answer.
 */

const MODEL = "claude-haiku-4-5"

const storeOf = (response: object): unknown => (response as { store?: unknown }).store

describe("stored Responses: Postgres unreachable", () => {
  let mock: MockProvider
  let storage: SharedStorage | undefined
  let proxy: TcpProxy | undefined
  let gateway: TestGateway | undefined
  let openai: OpenAI

  beforeAll(async () => {
    const proxied = await proxiedStorage()
    if (proxied === undefined) return
    ;({ storage, proxy } = proxied)
    mock = await startMockProvider({ models: [MODEL] })
    gateway = await startTestGateway({
      storage,
      gatewayFile: {
        providers: [
          { id: "claude", protocol: "anthropic", base_url: mock.url, keys: [{ value: "sk-ant" }], models: [MODEL] },
        ],
      },
    })
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
  }, 60_000)

  afterAll(async () => {
    await gateway?.close()
    await proxy?.close()
    await storage?.close()
    await mock?.close()
  })

  it("answers new turns with store: false, refuses to continue or read with 503, and stores again once it is back", async (context) => {
    if (gateway === undefined) {
      console.log(`stored Responses outage: skipped, nothing listens at ${new URL(OUTAGE_DATABASE_URL).host}`)
      return context.skip()
    }
    const stored = await openai.responses.create({ model: MODEL, input: "before" })
    expect(storeOf(stored)).toBe(true)

    await proxy!.cut()
    const unkept = await openai.responses.create({ model: MODEL, input: "during" })
    expect(unkept.output_text).toBe("Hello from mock: during")
    expect(storeOf(unkept)).toBe(false)
    const streamed = await openai.responses.stream({ model: MODEL, input: "during, streamed" }).finalResponse()
    expect(streamed.output_text).toBe("Hello from mock: during, streamed")
    for (const attempt of [
      () => openai.responses.create({ model: MODEL, input: "next", previous_response_id: stored.id }),
      () => openai.responses.retrieve(stored.id),
    ]) {
      const error = await attempt().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OpenAI.APIError)
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503)
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("store_unavailable")
    }
    expect(gateway!.logs.some((line) => line.includes("a response was not stored"))).toBe(true)

    await proxy!.restore()
    const deadline = Date.now() + 10_000
    let next = await openai.responses
      .create({ model: MODEL, input: "after", previous_response_id: stored.id })
      .catch(() => undefined)
    while (next === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      next = await openai.responses
        .create({ model: MODEL, input: "after", previous_response_id: stored.id })
        .catch(() => undefined)
    }
    expect(next?.previous_response_id).toBe(stored.id)
    expect(JSON.stringify(mock.received.at(-1)!.body)).toContain("Hello from mock: before")
    await expect(openai.responses.retrieve(unkept.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })
})
