import Anthropic from "@anthropic-ai/sdk"
import { ApiError as GeminiApiError, GoogleGenAI } from "@google/genai"
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Behaviour, type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { freePort } from "../support/GatewayProcess.js"
import { tiered } from "../support/LogicalModels.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Issue 16 item 5: a request whose every candidate failed tells the client every attempt — provider,
 * model, outcome, status, a short message without credentials — in `error.details` of each
 * dialect's envelope (OpenAI chat and Responses, Anthropic, Gemini), not only the last reason.
 */
const LEAKED = "sk-proj-LEAKEDSECRETabcdefghijklmnop"

describe("a failover that runs out of candidates lists every attempt", () => {
  let mock: MockProvider
  let gateway: TestGateway
  let sdk: { openai: OpenAI; anthropic: Anthropic; gemini: GoogleGenAI }
  const behaviour = new Map<string, Behaviour>()

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["m-a", "m-b", "m-fatal"] })
    const closed = `http://127.0.0.1:${await freePort()}`
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "1000" },
      gatewayFile: {
        providers: [
          {
            id: "alpha",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-alpha-key" }],
            models: ["m-a", "m-fatal"],
          },
          {
            id: "beta",
            protocol: "anthropic",
            base_url: mock.url,
            keys: [{ value: "sk-ant-beta-key" }],
            models: ["m-b"],
          },
          { id: "gamma", protocol: "gemini", base_url: closed, keys: [{ value: "gamma-key" }], models: ["m-c"] },
        ],
        logical_models: [
          { ...tiered("fallible", ["alpha", "m-a"], ["beta", "m-b"], ["gamma", "m-c"]), retries: 0 },
          { ...tiered("busy", ["alpha", "m-a"], ["beta", "m-b"]), retries: 1 },
          { ...tiered("refused", ["alpha", "m-fatal"], ["beta", "m-b"]), retries: 0 },
        ],
      },
    })
    sdk = {
      openai: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 }),
      anthropic: new Anthropic({ baseURL: gateway.url, apiKey: gateway.masterKey, maxRetries: 0 }),
      gemini: new GoogleGenAI({ apiKey: gateway.masterKey, httpOptions: { baseUrl: gateway.url } }),
    }
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
  })

  beforeEach(() => {
    mock.reset()
    mock.setDefault((request) => behaviour.get(request.model ?? "") as never)
    behaviour.clear()
    behaviour.set("m-a", { status: 503, errorMessage: `The engine is overloaded (key ${LEAKED})` })
    behaviour.set("m-b", { reset: true })
  })

  /** The attempts of `fallible`: alpha answered 503, beta reset the connection, gamma refused it. */
  const expectFallibleAttempts = (attempts: ReadonlyArray<Record<string, unknown>>) => {
    expect(attempts.map((a) => [a.provider, a.model, a.outcome, a.status])).toEqual([
      ["alpha", "m-a", "http", 503],
      ["beta", "m-b", "reset", null],
      ["gamma", "m-c", "connect", null],
    ])
    expect(attempts[0]!.message).toContain("The engine is overloaded")
    for (const attempt of attempts) expect(typeof attempt.message).toBe("string")
  }

  it("OpenAI chat (JSON and stream) and Responses: a 502 with error.details.attempts, no credential", async () => {
    const messages = [{ role: "user" as const, content: "hi" }]
    const json = await sdk.openai.chat.completions.create({ model: "fallible", messages }).catch((e) => e)
    const stream = await sdk.openai.chat.completions
      .create({ model: "fallible", messages, stream: true })
      .catch((e) => e)
    const responses = await sdk.openai.responses.create({ model: "fallible", input: "hi" }).catch((e) => e)
    for (const error of [json, stream, responses]) {
      expect(error).toBeInstanceOf(OpenAI.InternalServerError)
      expect(error.status).toBe(502)
      expect(error.code).toBe("all_upstreams_failed")
      expectFallibleAttempts(error.error.details.attempts)
      expect(JSON.stringify(error.error)).not.toContain(LEAKED)
    }
  })

  it("Anthropic: error.details.attempts in Anthropic's envelope", async () => {
    const error = await sdk.anthropic.messages
      .create({ model: "fallible", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.InternalServerError)
    expect(error.status).toBe(502)
    expect(error.error).toMatchObject({ type: "error", error: { type: "api_error" } })
    expectFallibleAttempts(error.error.error.details.attempts)
    expect(JSON.stringify(error.error)).not.toContain(LEAKED)
  })

  it("Gemini: a details entry of type apiproxy.UpstreamAttempts", async () => {
    const error = await sdk.gemini.models.generateContent({ model: "fallible", contents: "hi" }).catch((e) => e)
    expect(error).toBeInstanceOf(GeminiApiError)
    expect(error.status).toBe(502)
    const body = JSON.parse(error.message)
    expect(body.error).toMatchObject({ code: 502, status: "INTERNAL" })
    const entry = body.error.details.find(
      (d: { "@type": string }) => d["@type"] === "type.googleapis.com/apiproxy.UpstreamAttempts",
    )
    expectFallibleAttempts(entry.attempts)
    expect(error.message).not.toContain(LEAKED)
  })

  it("the last provider's own 503 keeps its status and lists every call, retries included", async () => {
    behaviour.set("m-b", { status: 503 })
    const error = await sdk.openai.chat.completions
      .create({ model: "busy", messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e)
    expect(error.status).toBe(503)
    expect(
      error.error.details.attempts.map(
        (a: Record<string, unknown>) => `${a.provider}/${a.model} ${a.outcome} ${a.status}`,
      ),
    ).toEqual(["alpha/m-a http 503", "alpha/m-a http 503", "beta/m-b http 503", "beta/m-b http 503"])
  })

  it("a client error retrying cannot fix is the provider's answer as it is, without a list", async () => {
    behaviour.set("m-fatal", { status: 400, errorMessage: "Invalid value for 'temperature': must be at most 2" })
    const error = await sdk.openai.chat.completions
      .create({ model: "refused", messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.message).toContain("Invalid value for 'temperature'")
    expect(error.error.details).toBeUndefined()
    expect(mock.received.some((r) => r.model === "m-b")).toBe(false)
  })
})
