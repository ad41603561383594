import { GoogleGenAI } from "@google/genai"
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { mockVector } from "../../src/mock/Embeddings.js"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { tiered } from "../support/LogicalModels.js"
import { validateOpenAi } from "../support/OpenApiSpec.js"
import { postJson } from "../support/PostJson.js"
import { restrictedKey } from "../support/RestrictedKey.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

const fromBase64 = (text: string) => [...new Float32Array(new Uint8Array(Buffer.from(text, "base64")).buffer)]

/**
 * Embeddings through the official SDKs: OpenAI's `/v1/embeddings` and Gemini's `:embedContent` /
 * `:batchEmbedContents`, against OpenAI-protocol and Gemini-protocol upstreams, with failover,
 * allow-lists and the error paths. `mock` speaks every protocol; `backup` is a second OpenAI one.
 */
describe("embeddings", () => {
  let mock: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let openai: OpenAI
  let gemini: GoogleGenAI

  beforeAll(async () => {
    mock = await startMockProvider({
      models: ["text-embedding-3-small", "gemini-embedding-001", "gemini-2.5-flash", "claude-haiku-4-5"],
    })
    backup = await startMockProvider({ models: ["text-embedding-3-small"] })
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "1000" },
      gatewayFile: {
        providers: [
          {
            id: "oai",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-oai" }],
            models: ["text-embedding-3-small", "gpt-4o-mini"],
          },
          {
            id: "oai2",
            protocol: "openai",
            base_url: backup.url,
            keys: [{ value: "sk-oai2" }],
            models: ["text-embedding-3-small"],
          },
          {
            id: "gem",
            protocol: "gemini",
            base_url: mock.url,
            keys: [{ value: "gem-key" }],
            models: ["gemini-embedding-001"],
          },
          // No static list: what its discovered list says of each model's methods decides (routing/Capabilities).
          { id: "gemdisc", protocol: "gemini", base_url: mock.url, keys: [{ value: "gem-key-2" }] },
          {
            id: "claude",
            protocol: "anthropic",
            base_url: mock.url,
            keys: [{ value: "sk-ant" }],
            models: ["claude-haiku-4-5"],
          },
        ],
        logical_models: [
          tiered("embed", ["oai", "text-embedding-3-small"], ["oai2", "text-embedding-3-small"]),
          tiered("embed-gem", ["gem", "gemini-embedding-001"]),
          tiered("mixed", ["claude", "claude-haiku-4-5"], ["gem", "gemini-embedding-001"]),
          tiered("gem-then-oai", ["gem", "gemini-embedding-001"], ["oai", "text-embedding-3-small"]),
        ],
      },
    })
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
    gemini = new GoogleGenAI({ apiKey: gateway.masterKey, httpOptions: { baseUrl: gateway.url } })
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
    await backup?.close()
  })

  beforeEach(() => {
    mock.reset()
    backup.reset()
  })

  /** What the upstream was asked (model discovery's GETs left out). */
  const calls = (m: MockProvider) => m.received.filter((r) => r.method === "POST")

  const post = (path: string, body: unknown, headers?: Record<string, string>) =>
    postJson(gateway.url, gateway.masterKey, path, body, headers)

  describe("OpenAI client, OpenAI-protocol upstream (passthrough)", () => {
    it("embeddings.create with the SDK's default (base64 on the wire, floats to the caller)", async () => {
      const answer = await openai.embeddings.create({ model: "embed", input: ["alpha", "beta"] })
      expect(answer.data.map((d) => [...d.embedding])).toEqual([mockVector("alpha"), mockVector("beta")])
      expect(answer.usage.prompt_tokens).toBeGreaterThan(0)
      // Passed through: only the model replaced, the SDK's own encoding_format kept.
      expect(calls(mock)[0]!.path).toBe("/v1/embeddings")
      expect(calls(mock)[0]!.body).toEqual({
        model: "text-embedding-3-small",
        input: ["alpha", "beta"],
        encoding_format: "base64",
      })
      expect(calls(mock)[0]!.headers.authorization).toBe("Bearer sk-oai")
    })

    it("float and base64, as asked; the answer conforms to the OpenAPI document", async () => {
      const { data, response } = await openai.embeddings
        .create({ model: "embed", input: "gamma", encoding_format: "float", dimensions: 4, user: "u-1" })
        .withResponse()
      expect(data.data[0]!.embedding).toEqual(mockVector("gamma", 4))
      expect(validateOpenAi("CreateEmbeddingResponse", data)).toEqual([])
      expect(response.headers.get("x-apiproxy-provider")).toBe("oai")
      expect(calls(mock)[0]!.body).toMatchObject({ dimensions: 4, user: "u-1", encoding_format: "float" })

      const b64 = await openai.embeddings.create({ model: "embed", input: ["gamma"], encoding_format: "base64" })
      expect(typeof b64.data[0]!.embedding).toBe("string")
      expect(fromBase64(b64.data[0]!.embedding as unknown as string)).toEqual(mockVector("gamma"))
    })

    it("token-id input passes through to an OpenAI-protocol upstream", async () => {
      const answer = await openai.embeddings.create({
        model: "embed",
        input: [[1, 2, 3], [4]],
        encoding_format: "float",
      })
      expect(answer.data[1]!.embedding).toEqual(mockVector([4]))
    })

    it("fails over to the next upstream when the first keeps failing", async () => {
      mock.setDefault({ status: 503 })
      const { data, response } = await openai.embeddings
        .create({ model: "embed", input: "delta", encoding_format: "float" })
        .withResponse()
      expect(data.data[0]!.embedding).toEqual(mockVector("delta"))
      expect(response.headers.get("x-apiproxy-provider")).toBe("oai2")
      expect(calls(mock).length).toBeGreaterThanOrEqual(1)
      expect(calls(backup)).toHaveLength(1)
    })

    it("a 2xx that is not one vector per input is the upstream's failure: the next upstream answers", async () => {
      mock.script({ body: { object: "list", data: [], model: "x", usage: { prompt_tokens: 1, total_tokens: 1 } } })
      mock.script({ body: { error: { message: "quota" } } })
      const answer = await openai.embeddings.create({ model: "gem-then-oai", input: ["a"], encoding_format: "float" })
      expect(answer.data[0]!.embedding).toEqual(mockVector("a"))
    })
  })

  describe("OpenAI client, Gemini-protocol upstream (converted)", () => {
    it("a string is one embedContent; dimensions become outputDimensionality; float, base64 and the SDK default", async () => {
      const answer = await openai.embeddings.create({
        model: "embed-gem",
        input: "hello",
        encoding_format: "float",
        dimensions: 6,
      })
      expect(answer).toMatchObject({ object: "list", model: "embed-gem", data: [{ object: "embedding", index: 0 }] })
      expect(answer.data[0]!.embedding).toEqual(mockVector("hello", 6))
      expect(validateOpenAi("CreateEmbeddingResponse", answer)).toEqual([])
      // Gemini reports no tokens: the gateway estimates them.
      expect(answer.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 })
      expect(calls(mock)[0]!.path).toBe("/v1beta/models/gemini-embedding-001:embedContent")
      expect(calls(mock)[0]!.body).toEqual({ content: { parts: [{ text: "hello" }] }, outputDimensionality: 6 })
      expect(calls(mock)[0]!.headers["x-goog-api-key"]).toBe("gem-key")

      const b64 = await openai.embeddings.create({ model: "embed-gem", input: ["x", "y"], encoding_format: "base64" })
      expect(b64.data.map((d) => fromBase64(d.embedding as unknown as string))).toEqual([
        mockVector("x"),
        mockVector("y"),
      ])
      expect(calls(mock)[1]!.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents")

      const byDefault = await openai.embeddings.create({ model: "gem/gemini-embedding-001", input: ["x", "y", "z"] })
      expect(byDefault.data.map((d) => [...d.embedding])).toEqual([mockVector("x"), mockVector("y"), mockVector("z")])
    })

    it("what Gemini cannot take is a 400 naming it: token ids, more than 100 inputs, unknown fields", async () => {
      const tokens = await post("/v1/embeddings", { model: "embed-gem", input: [1, 2, 3] })
      expect(tokens.status).toBe(400)
      expect(tokens.body.error.type).toBe("invalid_request_error")
      expect(tokens.body.error.message).toMatch(/token ids/)
      const many = await post("/v1/embeddings", {
        model: "embed-gem",
        input: Array.from({ length: 101 }, (_, i) => `t${i}`),
      })
      expect(many.status).toBe(400)
      expect(many.body.error.message).toMatch(/at most 100 inputs/)
      const unknown = await post("/v1/embeddings", { model: "embed-gem", input: "a", input_type: "query" })
      expect(unknown.status).toBe(400)
      expect(unknown.body.error.message).toContain("'input_type'")
      expect(calls(mock)).toHaveLength(0)
    })
  })

  describe("Gemini client (@google/genai)", () => {
    it("models.embedContent against a Gemini upstream: passed through with the model names replaced", async () => {
      const answer = await gemini.models.embedContent({
        model: "embed-gem",
        contents: ["one", "two"],
        config: { taskType: "RETRIEVAL_DOCUMENT", outputDimensionality: 3 },
      })
      expect(answer.embeddings?.map((e) => e.values)).toEqual([mockVector("one", 3), mockVector("two", 3)])
      const received = calls(mock)[0]!
      expect(received.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents")
      expect((received.body as any).requests[0]).toMatchObject({
        model: "models/gemini-embedding-001",
        taskType: "RETRIEVAL_DOCUMENT",
      })
    })

    it("models.embedContent against an OpenAI-protocol upstream: converted both ways", async () => {
      const answer = await gemini.models.embedContent({
        model: "embed",
        contents: ["one", "two"],
        config: { outputDimensionality: 5 },
      })
      expect(answer.embeddings?.map((e) => e.values)).toEqual([mockVector("one", 5), mockVector("two", 5)])
      expect(calls(mock)[0]!.body).toEqual({
        model: "text-embedding-3-small",
        input: ["one", "two"],
        dimensions: 5,
        encoding_format: "float",
      })
    })

    it(":embedContent answers one embedding; a taskType an OpenAI upstream cannot take is a 400 in Gemini's shape", async () => {
      const one = await post(
        "/v1beta/models/embed:embedContent",
        { content: { parts: [{ text: "solo" }] } },
        { "x-goog-api-key": gateway.masterKey },
      )
      expect(one.status).toBe(200)
      expect(one.body).toEqual({ embedding: { values: mockVector("solo") } })
      const refused = await post("/v1beta/models/embed:embedContent", {
        content: { parts: [{ text: "solo" }] },
        taskType: "RETRIEVAL_QUERY",
      })
      expect(refused.status).toBe(400)
      expect(refused.body.error).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" })
      expect(refused.body.error.message).toContain("'taskType'")
      const empty = await post("/v1beta/models/embed:batchEmbedContents", { requests: [] })
      expect(empty.status).toBe(400)
      expect(empty.body.error.status).toBe("INVALID_ARGUMENT")
    })
  })

  describe("which upstreams can embed", () => {
    it("an Anthropic-protocol provider is no candidate: a model only it serves is a 404 naming the model", async () => {
      const refused = await post("/v1/embeddings", { model: "claude-haiku-4-5", input: "x" })
      expect(refused.status).toBe(404)
      expect(refused.body.error).toMatchObject({
        type: "invalid_request_error",
        code: "model_not_supported",
        param: "model",
      })
      expect(refused.body.error.message).toContain("'claude-haiku-4-5'")
      const answer = await openai.embeddings.create({ model: "mixed", input: "x", encoding_format: "float" })
      expect(answer.data[0]!.embedding).toEqual(mockVector("x"))
      expect(calls(mock).map((r) => r.path)).toEqual(["/v1beta/models/gemini-embedding-001:embedContent"])
    })

    it("a Gemini model whose listed methods lack embedContent is no candidate", async () => {
      const refused = await post("/v1/embeddings", { model: "gemdisc/gemini-2.5-flash", input: "x" })
      expect(refused.status).toBe(404)
      expect(refused.body.error.code).toBe("model_not_supported")
      const answer = await openai.embeddings.create({
        model: "gemdisc/gemini-embedding-001",
        input: "x",
        encoding_format: "float",
      })
      expect(answer.data[0]!.embedding).toEqual(mockVector("x"))
    })

    it("model lists say which models embed (type: embedding)", async () => {
      const list = await openai.models.list()
      const types = Object.fromEntries(list.data.map((m) => [m.id, (m as { type?: string }).type]))
      expect(types).toMatchObject({
        "text-embedding-3-small": "embedding",
        "gemini-embedding-001": "embedding",
        embed: "embedding",
        "embed-gem": "embedding",
      })
      // Not embedding: a chat model, a Gemini model listed without embedContent, a logical model with an Anthropic upstream.
      for (const id of ["gpt-4o-mini", "gemini-2.5-flash", "claude-haiku-4-5", "mixed"])
        expect(types[id], id).toBeUndefined()
      expect(validateOpenAi("ListModelsResponse", { object: "list", data: list.data })).toEqual([])
      const one = await fetch(`${gateway.url}/providers/gemdisc/models`, {
        headers: { authorization: `Bearer ${gateway.masterKey}` },
      })
      const listed = ((await one.json()) as { data: Array<{ id: string; type?: string }> }).data
      expect(listed.filter((m) => m.type === "embedding").map((m) => m.id)).toEqual([
        "text-embedding-3-small",
        "gemini-embedding-001",
      ])
    })

    it("an API key's allow-list applies", async () => {
      const token = await restrictedKey(gateway.url, gateway.masterKey, "embedder", ["gem"])
      const restricted = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: token, maxRetries: 0 })
      await expect(restricted.embeddings.create({ model: "embed", input: "x" })).rejects.toMatchObject({
        status: 403,
        code: "provider_not_allowed",
      })
      const answer = await restricted.embeddings.create({ model: "embed-gem", input: "x", encoding_format: "float" })
      expect(answer.data[0]!.embedding).toEqual(mockVector("x"))
    })
  })

  describe("bad input is a 400 in OpenAI's shape, before any upstream is asked", () => {
    it.each([
      [{ model: "embed" }, "input"],
      [{ model: "embed", input: "" }, "input"],
      [{ model: "embed", input: [] }, "input"],
      [{ model: "embed", input: [1, "a"] }, "input"],
      [{ model: "embed", input: { text: "a" } }, "input"],
      [{ model: "embed", input: "a", encoding_format: "int8" }, "encoding_format"],
      [{ model: "embed", input: "a", dimensions: 0 }, "dimensions"],
      [{ model: "embed", input: "a", user: 5 }, "user"],
      [{ input: "a" }, "model"],
    ])("%j", async (body, param) => {
      const answer = await post("/v1/embeddings", body)
      expect(answer.status).toBe(400)
      expect(answer.body.error).toMatchObject({ type: "invalid_request_error", param })
      expect(validateOpenAi("ErrorResponse", answer.body)).toEqual([])
      expect(calls(mock)).toHaveLength(0)
    })

    it("not JSON, and too many inputs", async () => {
      expect((await post("/v1/embeddings", "{not json")).status).toBe(400)
      const many = await post("/v1/embeddings", { model: "embed", input: Array.from({ length: 2049 }, () => "a") })
      expect(many.status).toBe(400)
      expect(many.body.error.message).toMatch(/at most 2048/)
    })
  })

  it("usage is recorded per upstream", async () => {
    await openai.embeddings.create({ model: "embed", input: ["usage", "counted"], encoding_format: "float" })
    await openai.embeddings.create({ model: "embed-gem", input: "estimated", encoding_format: "float" })
    const deadline = Date.now() + 3_000
    for (;;) {
      const response = await fetch(`${gateway.url}/usage`, {
        headers: { authorization: `Bearer ${gateway.masterKey}` },
      })
      const { rows } = (await response.json()) as {
        rows: Array<{ provider: string; model: string; input_tokens: number }>
      }
      const oai = rows.find((r) => r.provider === "oai" && r.model === "text-embedding-3-small")
      const gem = rows.find((r) => r.provider === "gem" && r.model === "gemini-embedding-001")
      if ((oai?.input_tokens ?? 0) > 0 && (gem?.input_tokens ?? 0) > 0) break
      if (Date.now() > deadline) throw new Error(`usage not recorded: ${JSON.stringify(rows)}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  })
})
