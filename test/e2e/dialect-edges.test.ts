import Anthropic from "@anthropic-ai/sdk"
import { ApiError as GeminiApiError, GoogleGenAI } from "@google/genai"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { PROTOCOL_MODELS, protocolProviders } from "../support/ProtocolProviders.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Issue 14 item 7: every error on a dialect's routes — unknown path, wrong method, missing key,
 * unknown provider — comes in that dialect's shape and names that dialect's credential header;
 * `provider/model` naming no provider is refused, never served by another provider.
 */
describe("errors at the edge, in the dialect of the route", () => {
  let mock: MockProvider
  let gateway: TestGateway
  let auth: Record<string, string>

  beforeAll(async () => {
    mock = await startMockProvider({ models: Object.values(PROTOCOL_MODELS) })
    gateway = await startTestGateway({
      gatewayFile: {
        providers: [
          {
            id: "openai",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-oai" }],
            models: ["gpt-4o-mini"],
          },
          ...protocolProviders(mock.url).filter((p) => p.id !== "oai"),
          {
            id: "agg",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-agg" }],
            models: ["qwen/qwen-2.5:free"],
          },
        ],
      },
    })
    auth = { authorization: `Bearer ${gateway.masterKey}` }
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
  })

  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
    const response = await fetch(`${gateway.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
    return { status: response.status, allow: response.headers.get("allow"), body: (await response.json()) as any }
  }

  describe("unknown path: 404 in the path family's dialect", () => {
    it.each([
      ["/v1/messages/nope", { type: "error", error: { type: "not_found_error" } }],
      ["/v1beta/nope", { error: { code: 404, status: "NOT_FOUND" } }],
      ["/v1/nope", { error: { type: "invalid_request_error", code: "not_found", param: null } }],
      ["/no/such/route", { error: { type: "invalid_request_error", code: "not_found" } }],
    ])("GET %s", async (path, shape) => {
      const answer = await call("GET", path, auth)
      expect(answer.status).toBe(404)
      expect(answer.body).toMatchObject(shape)
      expect(JSON.stringify(answer.body)).toContain(`Unknown endpoint: GET \\"${path}\\"`)
    })
  })

  describe("known path, wrong method: 405 with Allow, in the dialect", () => {
    it.each([
      ["GET", "/v1/messages", "POST", { type: "error", error: { type: "invalid_request_error" } }],
      ["GET", "/v1/chat/completions", "POST", { error: { type: "invalid_request_error", code: "method_not_allowed" } }],
      ["PUT", "/v1/responses", "POST", { error: { code: "method_not_allowed" } }],
      ["DELETE", "/v1/models", "GET", { error: { code: "method_not_allowed" } }],
      [
        "GET",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "POST",
        { error: { code: 405, status: "INVALID_ARGUMENT" } },
      ],
    ])("%s %s", async (method, path, allow, shape) => {
      const answer = await call(method, path, auth)
      expect([answer.status, answer.allow]).toEqual([405, allow])
      expect(answer.body).toMatchObject(shape)
      expect(JSON.stringify(answer.body)).toContain(`Method ${method} is not allowed`)
    })
  })

  describe("missing key: 401 naming the dialect's credential header", () => {
    it.each([
      [
        "/v1/chat/completions",
        {
          error: {
            type: "authentication_error",
            code: "invalid_api_key",
            message: "Missing API key: send 'Authorization: Bearer <key>'",
          },
        },
      ],
      [
        "/v1/messages",
        { type: "error", error: { type: "authentication_error", message: "Missing API key: send 'x-api-key: <key>'" } },
      ],
      [
        "/v1beta/models/gemini-2.5-flash:generateContent",
        { error: { code: 401, status: "UNAUTHENTICATED", message: "Missing API key: send 'x-goog-api-key: <key>'" } },
      ],
    ])("POST %s", async (path, expected) => {
      const answer = await call("POST", path, { "content-type": "application/json" }, "{}")
      expect(answer.status).toBe(401)
      expect(answer.body).toMatchObject(expected)
    })
  })

  describe("through the official SDKs", () => {
    const unknownProvider = "Unknown provider 'opneai' in model 'opneai/gpt-4o-mini'"

    it("openai: a provider prefix naming no provider is 404 provider_not_found, and no upstream is called", async () => {
      mock.reset()
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
      const error = await client.chat.completions
        .create({ model: "opneai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
        .catch((e) => e)
      expect(error).toBeInstanceOf(OpenAI.NotFoundError)
      expect([error.code, error.param]).toEqual(["provider_not_found", "model"])
      expect(error.message).toContain(unknownProvider)
      expect(mock.received).toHaveLength(0)
      // The real provider prefix and an aggregator's own `vendor/model` id still route.
      const served = await client.chat.completions.create({
        model: "openai/gpt-4o-mini",
        messages: [{ role: "user", content: "hi" }],
      })
      expect(served.choices[0]!.message.content).toBe("Hello from mock: hi")
      const aggregated = await client.chat.completions.create({
        model: "qwen/qwen-2.5:free",
        messages: [{ role: "user", content: "agg" }],
      })
      expect(aggregated.choices[0]!.message.content).toBe("Hello from mock: agg")
      expect(mock.received.map((r) => r.headers.authorization)).toEqual(["Bearer sk-oai", "Bearer sk-agg"])
    })

    it("anthropic: unknown provider is a NotFoundError in Anthropic's shape; a bad key an AuthenticationError", async () => {
      const client = new Anthropic({ baseURL: gateway.url, apiKey: gateway.masterKey, maxRetries: 0 })
      const error = await client.messages
        .create({ model: "opneai/gpt-4o-mini", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
        .catch((e) => e)
      expect(error).toBeInstanceOf(Anthropic.NotFoundError)
      expect(error.error).toMatchObject({ type: "error", error: { type: "not_found_error" } })
      expect(error.error.error.message).toContain(unknownProvider)

      const badKey = new Anthropic({ baseURL: gateway.url, apiKey: "apx-wrong", maxRetries: 0 })
      const denied = await badKey.messages
        .create({ model: "claude-haiku-4-5", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
        .catch((e) => e)
      expect(denied).toBeInstanceOf(Anthropic.AuthenticationError)
      expect(denied.error).toMatchObject({
        type: "error",
        error: { type: "authentication_error", message: "Invalid API key" },
      })
    })

    it("gemini: unknown provider is a 404 NOT_FOUND; a bad key a 401 UNAUTHENTICATED", async () => {
      const client = new GoogleGenAI({ apiKey: gateway.masterKey, httpOptions: { baseUrl: gateway.url } })
      const error = await client.models.generateContent({ model: "opneai/gpt-4o-mini", contents: "hi" }).catch((e) => e)
      expect(error).toBeInstanceOf(GeminiApiError)
      expect(error.status).toBe(404)
      expect(JSON.parse(error.message)).toMatchObject({ error: { code: 404, status: "NOT_FOUND" } })
      expect(error.message).toContain(unknownProvider)

      const badKey = new GoogleGenAI({ apiKey: "apx-wrong", httpOptions: { baseUrl: gateway.url } })
      const denied = await badKey.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" }).catch((e) => e)
      expect(denied.status).toBe(401)
      expect(JSON.parse(denied.message)).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } })
    })
  })
})
