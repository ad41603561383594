import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { MOCK_IMAGE_B64, mockAudio } from "../../src/mock/OpenAIPassThrough.js"
import { tiered } from "../support/LogicalModels.js"
import { validateOpenAi } from "../support/OpenApiSpec.js"
import { postJson } from "../support/PostJson.js"
import { passThroughProviders } from "../support/ProtocolProviders.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

const MODELS = ["gpt-3.5-turbo-instruct", "omni-moderation-latest", "gpt-image-1", "gpt-4o-mini-tts"]

/**
 * OpenAI's endpoints beside chat through the official SDK: completions, moderations, images and
 * speech, passed through to OpenAI-protocol providers with routing, failover, allow-lists, usage,
 * and answers relayed as they arrive (streams, audio). `mock` also speaks Gemini and Anthropic.
 */
describe("pass-through endpoints", () => {
  let mock: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let openai: OpenAI

  beforeAll(async () => {
    mock = await startMockProvider({ models: [...MODELS, "gemini-2.5-flash", "claude-haiku-4-5"] })
    backup = await startMockProvider({ models: MODELS })
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "1000", UPSTREAM_IDLE_TIMEOUT: "1 second" },
      gatewayFile: {
        providers: passThroughProviders(mock.url, backup.url, MODELS),
        logical_models: [
          tiered("instruct", ["oai", "gpt-3.5-turbo-instruct"], ["oai2", "gpt-3.5-turbo-instruct"]),
          tiered("tts", ["oai", "gpt-4o-mini-tts"], ["oai2", "gpt-4o-mini-tts"]),
        ],
      },
    })
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
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

  const post = (path: string, body: unknown, headers?: Record<string, string>) =>
    postJson(gateway.url, gateway.masterKey, path, body, headers)

  describe("/v1/completions", () => {
    it("completions.create: passed through with only the model replaced; conforms to the OpenAPI document", async () => {
      const { data, response } = await openai.completions
        .create({ model: "instruct", prompt: "Say hi", max_tokens: 5 })
        .withResponse()
      expect(data.choices[0]!.text).toBe("Hello from mock: Say hi")
      expect(validateOpenAi("CreateCompletionResponse", data)).toEqual([])
      expect(response.headers.get("x-apiproxy-provider")).toBe("oai")
      expect(mock.received[0]!.body).toEqual({ model: "gpt-3.5-turbo-instruct", prompt: "Say hi", max_tokens: 5 })
      expect(mock.received[0]!.headers.authorization).toBe("Bearer sk-oai")
    })

    it("a stream is relayed as it comes, its usage chunk too", async () => {
      const stream = await openai.completions.create({
        model: "instruct",
        prompt: "stream me",
        stream: true,
        stream_options: { include_usage: true },
      })
      let text = ""
      let usage: unknown
      for await (const chunk of stream) {
        // The document has no stream chunk schema, and its response schema allows no null
        // finish_reason (which every chunk before the last carries, as OpenAI sends them).
        if (chunk.choices[0]?.finish_reason != null)
          expect(validateOpenAi("CreateCompletionResponse", chunk)).toEqual([])
        text += chunk.choices[0]?.text ?? ""
        if (chunk.usage) usage = chunk.usage
      }
      expect(text).toBe("Hello from mock: stream me")
      expect(usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) })
    })

    it("fails over before the first byte; a stream cut after it is a cut for the client, never a clean end", async () => {
      mock.setDefault({ status: 503 })
      const { response } = await openai.completions.create({ model: "instruct", prompt: "x" }).withResponse()
      expect(response.headers.get("x-apiproxy-provider")).toBe("oai2")
      mock.setDefault(undefined)

      mock.script({ cutAfterChunks: 2 })
      const stream = await openai.completions.create({
        model: "oai/gpt-3.5-turbo-instruct",
        prompt: "cut me short",
        stream: true,
      })
      const read = async () => {
        for await (const _ of stream) void _
      }
      await expect(read()).rejects.toThrow()
    })
  })

  describe("/v1/moderations", () => {
    it("moderations.create, with OpenAI's default model when none is named", async () => {
      const answer = await openai.moderations.create({ input: ["all calm", "graphic violence"] })
      expect(answer.results.map((r) => r.flagged)).toEqual([false, true])
      expect(validateOpenAi("CreateModerationResponse", answer)).toEqual([])
      // Two providers serve the model: either may have answered.
      expect([...mock.received, ...backup.received][0]!.body).toMatchObject({ model: "omni-moderation-latest" })
    })
  })

  describe("/v1/images/generations", () => {
    it("images.generate: JSON, and a stream of events", async () => {
      const image = await openai.images.generate({ model: "gpt-image-1", prompt: "a fox", n: 2 })
      expect(image.data?.map((d) => d.b64_json)).toEqual([MOCK_IMAGE_B64, MOCK_IMAGE_B64])
      expect(validateOpenAi("ImagesResponse", image)).toEqual([])

      const stream = await openai.images.generate({
        model: "gpt-image-1",
        prompt: "a fox",
        stream: true,
        partial_images: 1,
      })
      const types: Array<string> = []
      for await (const event of stream) types.push(event.type)
      expect(types).toEqual(["image_generation.partial_image", "image_generation.completed"])
    })
  })

  describe("/v1/audio/speech", () => {
    it("audio.speech.create: the audio relayed as it comes, with its type and length", async () => {
      const input = "x".repeat(2000)
      const response = await openai.audio.speech.create({ model: "tts", voice: "alloy", input })
      expect(response.headers.get("content-type")).toBe("audio/mpeg")
      expect(response.headers.get("content-length")).toBe(String(2_000_000))
      expect(response.headers.get("x-apiproxy-provider")).toBe("oai")
      expect(Buffer.from(await response.arrayBuffer()).equals(mockAudio(input))).toBe(true)
    })

    it("stream_format sse is relayed as events", async () => {
      const response = await openai.audio.speech.create({
        model: "tts",
        voice: "alloy",
        input: "hi",
        stream_format: "sse",
      })
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/)
      const text = await response.text()
      expect(text).toContain("speech.audio.delta")
      expect(text).toContain("speech.audio.done")
    })

    it("audio cut after the first byte: the client's download breaks (never a clean end)", async () => {
      mock.script({ cutAfterChunks: 3 })
      const response = await fetch(`${gateway.url}/v1/audio/speech`, {
        method: "POST",
        headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "oai/gpt-4o-mini-tts", voice: "alloy", input: "y".repeat(500) }),
      })
      expect(response.status).toBe(200)
      await expect(response.arrayBuffer()).rejects.toThrow()
    })

    it("a client that leaves mid-download aborts the upstream call", async () => {
      mock.script({ chunkDelayMs: 50 })
      const controller = new AbortController()
      const response = await fetch(`${gateway.url}/v1/audio/speech`, {
        method: "POST",
        headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "oai/gpt-4o-mini-tts", voice: "alloy", input: "z".repeat(4000) }),
        signal: controller.signal,
      })
      const reader = response.body!.getReader()
      await reader.read()
      controller.abort()
      await mock.waitFor((m) => m.received[0]?.aborted === true)
      // The gateway is fine: the next request is answered.
      expect((await openai.moderations.create({ input: "ok" })).results[0]!.flagged).toBe(false)
    })
  })

  describe("who can serve them", () => {
    it("a model only Gemini- or Anthropic-protocol providers serve is a 404 naming it", async () => {
      for (const model of ["gemini-2.5-flash", "claude-haiku-4-5"]) {
        const answer = await post("/v1/completions", { model, prompt: "x" })
        expect(answer.status).toBe(404)
        expect(answer.body.error).toMatchObject({
          code: "model_not_supported",
          param: "model",
          type: "invalid_request_error",
        })
        expect(answer.body.error.message).toContain(`'${model}'`)
        expect(answer.body.error.message).toContain("/v1/completions")
      }
      expect(mock.received).toHaveLength(0)
    })

    it("an unknown model is a 404 model_not_found", async () => {
      const answer = await post("/v1/images/generations", { model: "no-such-model", prompt: "x" })
      expect(answer.status).toBe(404)
      expect(answer.body.error.code).toBe("model_not_found")
    })
  })

  describe("bad input is a 400 in OpenAI's shape, before any upstream is asked", () => {
    it.each([
      ["/v1/completions", { model: "instruct" }, "prompt"],
      ["/v1/completions", { prompt: "x" }, "model"],
      ["/v1/completions", { model: "instruct", prompt: "x", stream: "yes" }, "stream"],
      ["/v1/moderations", { model: "omni-moderation-latest" }, "input"],
      ["/v1/images/generations", { model: "gpt-image-1" }, "prompt"],
      ["/v1/audio/speech", { model: "tts", input: "x" }, "voice"],
      ["/v1/audio/speech", { model: "bad model", input: "x", voice: "alloy" }, "model"],
    ])("%s %j", async (path, body, param) => {
      const answer = await post(path, body)
      expect(answer.status).toBe(400)
      expect(answer.body.error).toMatchObject({ type: "invalid_request_error", param })
      expect(mock.received).toHaveLength(0)
    })
  })

  it("usage is recorded where the provider reports it", async () => {
    await openai.completions.create({ model: "instruct", prompt: "count me", max_tokens: 3 })
    await openai.images.generate({ model: "gpt-image-1", prompt: "count me too" })
    const deadline = Date.now() + 3_000
    for (;;) {
      const response = await fetch(`${gateway.url}/usage`, {
        headers: { authorization: `Bearer ${gateway.masterKey}` },
      })
      const { rows } = (await response.json()) as {
        rows: Array<{ provider: string; model: string; input_tokens: number; output_tokens: number }>
      }
      const completion = rows.find((r) => r.model === "gpt-3.5-turbo-instruct")
      const image = rows.find((r) => r.model === "gpt-image-1")
      if ((completion?.output_tokens ?? 0) > 0 && (image?.output_tokens ?? 0) >= 50) break
      if (Date.now() > deadline) throw new Error(`usage not recorded: ${JSON.stringify(rows)}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  })
})
