import Anthropic from "@anthropic-ai/sdk"
import type { GoogleGenAI } from "@google/genai"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { validateOpenAi } from "../support/OpenApiSpec.js"
import { PROTOCOL_MODELS, protocolProviders, sdkClients } from "../support/ProtocolProviders.js"
import { rawRequest } from "../support/RawHttp.js"
import { restrictedKey } from "../support/RestrictedKey.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Issue 14 item 5: the model endpoints of each dialect through its official SDK — OpenAI
 * `models.list`/`models.retrieve`, Anthropic `models.list`/`models.retrieve` (`anthropic-version`
 * on `/v1/models`), Gemini `models.list`/`models.get` (`/v1beta/models`) — with paging, ids that
 * hold `/`, the caller's allow-list, and errors in each dialect's shape.
 */
describe("model endpoints in every dialect", () => {
  let mock: MockProvider
  let gateway: TestGateway
  let openai: OpenAI
  let anthropic: Anthropic
  let gemini: GoogleGenAI
  // Providers' models in provider id order (agg, claude, gem, oai), then logical models.
  const everyId = [
    "qwen/qwen-2.5:free",
    "text-embedding-3-small",
    "claude-haiku-4-5",
    "gemini-2.5-flash",
    "gpt-4o-mini",
    "smart",
  ]

  beforeAll(async () => {
    mock = await startMockProvider({ models: Object.values(PROTOCOL_MODELS) })
    gateway = await startTestGateway({
      gatewayFile: {
        providers: [
          {
            id: "agg",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-agg" }],
            models: ["qwen/qwen-2.5:free", "text-embedding-3-small"],
          },
          ...protocolProviders(mock.url),
        ],
        logical_models: [
          {
            id: "smart",
            upstreams: [
              { provider: "claude", model: "claude-haiku-4-5" },
              { provider: "gem", model: "gemini-2.5-flash" },
            ],
          },
        ],
      },
    })
    ;({ openai, anthropic, gemini } = sdkClients(gateway.url, gateway.masterKey))
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
  })

  const json = async (path: string, headers: Record<string, string>) => {
    const response = await fetch(`${gateway.url}${path}`, { headers })
    return { status: response.status, body: (await response.json()) as any }
  }

  describe("openai", () => {
    it("models.list and models.retrieve, an id with '/' (sent as %2F) and a provider-prefixed name", async () => {
      const ids: Array<string> = []
      for await (const model of openai.models.list()) ids.push(model.id)
      expect(ids).toEqual(everyId)
      expect(await openai.models.retrieve("gpt-4o-mini")).toMatchObject({
        id: "gpt-4o-mini",
        object: "model",
        owned_by: "oai",
      })
      expect(await openai.models.retrieve("qwen/qwen-2.5:free")).toMatchObject({
        id: "qwen/qwen-2.5:free",
        owned_by: "agg",
      })
      expect(await openai.models.retrieve("claude/claude-haiku-4-5")).toMatchObject({
        id: "claude/claude-haiku-4-5",
        owned_by: "claude",
      })
      expect(await openai.models.retrieve("smart")).toMatchObject({ id: "smart", owned_by: "apiproxy" })
    })

    it("the list and one model conform to OpenAI's OpenAPI document (ListModelsResponse, Model)", async () => {
      const auth = { authorization: `Bearer ${gateway.masterKey}` }
      expect(validateOpenAi("ListModelsResponse", (await json("/v1/models", auth)).body)).toEqual([])
      expect(validateOpenAi("Model", (await json("/v1/models/qwen%2Fqwen-2.5:free", auth)).body)).toEqual([])
    })

    it("an unknown id, or a prefix naming no provider, is 404 model_not_found in OpenAI's shape", async () => {
      for (const id of ["no-such-model", "opneai/gpt-4o-mini"]) {
        const error = await openai.models.retrieve(id).catch((e) => e)
        expect(error).toBeInstanceOf(OpenAI.NotFoundError)
        expect([error.code, error.param]).toEqual(["model_not_found", "model"])
      }
    })
  })

  describe("anthropic (anthropic-version on /v1/models)", () => {
    it("models.list pages through every model with after_id; models.retrieve", async () => {
      const ids: Array<string> = []
      for await (const model of anthropic.models.list({ limit: 2 })) {
        expect(model.type).toBe("model")
        expect(model.display_name).toBe(model.id)
        expect(Number.isNaN(Date.parse(model.created_at))).toBe(false)
        ids.push(model.id)
      }
      expect(ids).toEqual(everyId)
      const first = await anthropic.models.list({ limit: 2 })
      expect([first.has_more, first.first_id, first.last_id]).toEqual([
        true,
        "qwen/qwen-2.5:free",
        "text-embedding-3-small",
      ])
      expect(await anthropic.models.retrieve("claude-haiku-4-5")).toMatchObject({
        type: "model",
        id: "claude-haiku-4-5",
      })
    })

    it("before_id pages backwards; a bad limit is 400 and an unknown id 404, in Anthropic's shape", async () => {
      const headers = { "x-api-key": gateway.masterKey, "anthropic-version": "2023-06-01" }
      const back = await json("/v1/models?before_id=smart&limit=2", headers)
      expect(back.body).toMatchObject({ has_more: true, first_id: "gemini-2.5-flash", last_id: "gpt-4o-mini" })
      const bad = await json("/v1/models?limit=0", headers)
      expect([bad.status, bad.body]).toEqual([
        400,
        {
          type: "error",
          error: { type: "invalid_request_error", message: "limit must be a whole number from 1 to 1000" },
        },
      ])
      const error = await anthropic.models.retrieve("no-such-model").catch((e) => e)
      expect(error).toBeInstanceOf(Anthropic.NotFoundError)
      expect(error.error).toMatchObject({ type: "error", error: { type: "not_found_error" } })
    })
  })

  describe("gemini (/v1beta/models)", () => {
    it("models.list pages with pageToken; models.get, also of a provider-prefixed name", async () => {
      const names: Array<string> = []
      const pager = await gemini.models.list({ config: { pageSize: 2 } })
      for await (const model of pager) {
        const embedding = model.name === "models/text-embedding-3-small"
        expect(model.supportedActions).toEqual(
          embedding ? ["embedContent", "batchEmbedContents", "countTokens"] : ["generateContent", "countTokens"],
        )
        names.push(model.name!)
      }
      expect(names).toEqual(everyId.map((id) => `models/${id}`))
      const one = await gemini.models.get({ model: "gemini-2.5-flash" })
      expect([one.name, one.displayName]).toEqual(["models/gemini-2.5-flash", "gemini-2.5-flash"])
      expect((await gemini.models.get({ model: "gem/gemini-2.5-flash" })).name).toBe("models/gem/gemini-2.5-flash")
    })

    it("errors in Gemini's shape: unknown model 404, bad pageToken 400; ?key= authenticates", async () => {
      const error = await gemini.models.get({ model: "no-such-model" }).catch((e) => e)
      expect(error.status).toBe(404)
      expect(JSON.parse(error.message)).toMatchObject({ error: { code: 404, status: "NOT_FOUND" } })
      const bad = await json(`/v1beta/models?pageToken=bm9wZQ&key=${gateway.masterKey}`, {})
      expect([bad.status, bad.body.error.status, bad.body.error.message]).toEqual([
        400,
        "INVALID_ARGUMENT",
        "pageToken is not a token this list gave",
      ])
    })
  })

  it("hostile ids (malformed escapes, control bytes, 8 KB) are a clean 4xx in the dialect, echoed bounded", async () => {
    const port = Number(new URL(gateway.url).port)
    for (const target of [
      "/v1/models/%ZZ",
      "/v1/models/a%00b%0D%0Ax",
      `/v1beta/models/${"m".repeat(8_000)}`,
      "/v1beta/models/%E0%A4%A",
    ]) {
      const raw = await rawRequest(port, {
        method: "GET",
        target,
        headers: [["authorization", `Bearer ${gateway.masterKey}`]],
      })
      expect(raw!.status, target).toBeGreaterThanOrEqual(400)
      expect(raw!.status, target).toBeLessThan(500)
      const body = JSON.parse(raw!.body)
      expect(target.startsWith("/v1beta") ? body.error.status : body.error.type, target).toBeTruthy()
      expect(raw!.body.length).toBeLessThan(1_000)
      // The escaped CR LF never became a header line of its own.
      expect(raw!.headers.map(([name]) => name)).not.toContain("x")
    }
  })

  it("each dialect's missing key is a 401 in its shape naming its header", async () => {
    expect((await json("/v1/models/gpt-4o-mini", {})).body.error.message).toBe(
      "Missing API key: send 'Authorization: Bearer <key>'",
    )
    expect((await json("/v1/models", { "anthropic-version": "2023-06-01" })).body).toEqual({
      type: "error",
      error: { type: "authentication_error", message: "Missing API key: send 'x-api-key: <key>'" },
    })
    expect((await json("/v1beta/models/gemini-2.5-flash", {})).body).toEqual({
      error: { code: 401, status: "UNAUTHENTICATED", message: "Missing API key: send 'x-goog-api-key: <key>'" },
    })
  })

  it("a key restricted to one provider lists and reads only what it may call", async () => {
    const clients = sdkClients(gateway.url, await restrictedKey(gateway.url, gateway.masterKey, "lister", ["claude"]))
    const ids: Array<string> = []
    for await (const model of clients.anthropic.models.list()) ids.push(model.id)
    expect(ids).toEqual(["claude-haiku-4-5", "smart"])
    expect((await clients.gemini.models.list()).page.map((m) => m.name)).toEqual([
      "models/claude-haiku-4-5",
      "models/smart",
    ])
    expect(await clients.openai.models.retrieve("gpt-4o-mini").catch((e) => e.status)).toBe(404)
  })
})
