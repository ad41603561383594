import Anthropic from "@anthropic-ai/sdk"
import type { GoogleGenAI } from "@google/genai"
import type OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { chatOnlyProvider, protocolProviders, sdkClients } from "../support/ProtocolProviders.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

const weatherTool = {
  name: "get_weather",
  description: "Weather for a city",
  schema: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
}

/**
 * Every inbound dialect against every upstream protocol, through the official SDK of the
 * inbound dialect. One mock speaks all three provider dialects; the providers differ by protocol.
 */
describe("dialect translation through the official SDKs", () => {
  let mock: MockProvider
  let gateway: TestGateway
  let openai: OpenAI
  let anthropic: Anthropic
  let gemini: GoogleGenAI

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"] })
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "1000" },
      gatewayFile: {
        providers: [...protocolProviders(mock.url), chatOnlyProvider(mock.url)],
      },
    })
    ;({ openai, anthropic, gemini } = sdkClients(gateway.url, gateway.masterKey))
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
  })

  beforeEach(() => mock.reset())

  describe("OpenAI client", () => {
    it.each(["claude-haiku-4-5", "gemini-2.5-flash"])("chat with %s, JSON and streamed", async (model) => {
      const completion = await openai.chat.completions.create({
        model,
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "hi" },
        ],
      })
      expect(completion.object).toBe("chat.completion")
      expect(completion.choices[0]!.message.content).toBe("Hello from mock: hi")
      expect(completion.choices[0]!.finish_reason).toBe("stop")
      expect(completion.usage!.prompt_tokens).toBeGreaterThan(0)
      expect(completion.model).toBe(model)

      const final = await openai.chat.completions
        .stream({ model, messages: [{ role: "user", content: "stream" }] })
        .finalChatCompletion()
      expect(final.choices[0]!.message.content).toBe("Hello from mock: stream")
      expect(final.choices[0]!.finish_reason).toBe("stop")
    })

    it("sends Anthropic upstreams the messages path with x-api-key and anthropic-version (W14)", async () => {
      await openai.chat.completions.create({
        model: "claude-haiku-4-5",
        messages: [
          { role: "system", content: "sys" },
          { role: "user", content: "hi" },
        ],
      })
      const received = mock.received[0]!
      expect(received.path).toBe("/v1/messages")
      expect(received.headers["x-api-key"]).toBe("sk-ant-claude")
      expect(received.headers["anthropic-version"]).toBeTruthy()
      expect(received.headers["authorization"]).toBeUndefined()
      const body = received.body as { model: string; system: unknown; messages: Array<{ role: string }> }
      expect(body.model).toBe("claude-haiku-4-5")
      expect(JSON.stringify(body.system)).toContain("sys")
      expect(body.messages.map((m) => m.role)).toEqual(["user"])
    })

    it.each(["claude-haiku-4-5", "gemini-2.5-flash"])("tool calls with %s, JSON and streamed", async (model) => {
      const tools: Array<OpenAI.ChatCompletionTool> = [
        {
          type: "function",
          function: { name: weatherTool.name, description: weatherTool.description, parameters: weatherTool.schema },
        },
      ]
      const completion = await openai.chat.completions.create({
        model,
        messages: [{ role: "user", content: "weather in Paris?" }],
        tools,
      })
      expect(completion.choices[0]!.finish_reason).toBe("tool_calls")
      const call = completion.choices[0]!.message.tool_calls![0]!
      expect(call.type === "function" && call.function.name).toBe("get_weather")
      expect(call.type === "function" && JSON.parse(call.function.arguments)).toEqual({ location: "Paris" })

      const final = await openai.chat.completions
        .stream({ model, messages: [{ role: "user", content: "weather?" }], tools })
        .finalChatCompletion()
      const streamed = final.choices[0]!.message.tool_calls![0]!
      expect(final.choices[0]!.finish_reason).toBe("tool_calls")
      expect(streamed.type === "function" && JSON.parse(streamed.function.arguments)).toEqual({ location: "Paris" })
    })

    it.each(["claude-haiku-4-5", "gemini-2.5-flash", "chat-only"])("Responses API answered via %s", async (model) => {
      const response = await openai.responses.create({ model, input: "convert me", instructions: "be brief" })
      expect(response.object).toBe("response")
      expect(response.status).toBe("completed")
      expect(response.output_text).toBe("Hello from mock: convert me")
      expect(response.usage!.input_tokens).toBeGreaterThan(0)
      expect(response.id).toMatch(/^resp_/)

      const stream = openai.responses.stream({ model, input: "stream it" })
      const deltas: Array<string> = []
      stream.on("response.output_text.delta", (event) => deltas.push(event.delta))
      const final = await stream.finalResponse()
      expect(final.output_text).toBe("Hello from mock: stream it")
      expect(deltas.join("")).toBe(final.output_text)
    })

    it("falls back to chat when a provider's Responses endpoint answers 404", async () => {
      mock.script({ match: { path: "/v1/responses" }, status: 404 })
      const response = await openai.responses.create({ model: "gpt-4o-mini", input: "fallback" })
      expect(response.output_text).toBe("Hello from mock: fallback")
      expect(mock.received.map((r) => r.path)).toEqual(["/v1/responses", "/v1/chat/completions"])
    })

    it("accepts a Claude-style body on /v1/chat/completions and keeps a block system prompt (W7)", async () => {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${gateway.masterKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          system: [{ type: "text", text: "You are terse." }],
          max_tokens: 50,
          messages: [{ role: "user", content: [{ type: "text", text: "claude style" }] }],
        }),
      })
      expect(response.status).toBe(200)
      const body = (await response.json()) as any
      expect(body.object).toBe("chat.completion")
      expect(body.choices[0].message.content).toBe("Hello from mock: claude style")
      const sent = mock.received[0]!.body as { messages: Array<{ role: string; content: unknown }> }
      expect(sent.messages[0]).toEqual({ role: "system", content: "You are terse." })
    })
  })

  describe("Anthropic client", () => {
    it.each(["claude-haiku-4-5", "gpt-4o-mini", "gemini-2.5-flash"])(
      "messages with %s, JSON and streamed",
      async (model) => {
        const message = await anthropic.messages.create({
          model,
          max_tokens: 100,
          system: "be brief",
          messages: [{ role: "user", content: "hi" }],
        })
        expect(message.type).toBe("message")
        expect(message.content[0]).toMatchObject({ type: "text", text: "Hello from mock: hi" })
        expect(message.stop_reason).toBe("end_turn")
        expect(message.usage.input_tokens).toBeGreaterThan(0)

        const events: Array<string> = []
        const stream = anthropic.messages.stream({
          model,
          max_tokens: 100,
          messages: [{ role: "user", content: "stream" }],
        })
        stream.on("streamEvent", (event) => events.push(event.type))
        const final = await stream.finalMessage()
        expect(final.content[0]).toMatchObject({ type: "text", text: "Hello from mock: stream" })
        expect(events[0]).toBe("message_start")
        expect(events.at(-1)).toBe("message_stop")
        expect(events).toContain("content_block_delta")
      },
    )

    it("passes an Anthropic body through to an Anthropic upstream byte for byte, model replaced", async () => {
      await anthropic.messages.create({
        model: "claude/claude-haiku-4-5",
        max_tokens: 64,
        messages: [{ role: "user", content: "exact" }],
        metadata: { user_id: "u-1" },
      })
      expect(mock.received[0]!.body).toEqual({
        model: "claude-haiku-4-5",
        max_tokens: 64,
        messages: [{ role: "user", content: "exact" }],
        metadata: { user_id: "u-1" },
      })
    })

    it.each(["gpt-4o-mini", "gemini-2.5-flash"])("tool use through %s", async (model) => {
      const tools: Array<Anthropic.Tool> = [
        {
          name: weatherTool.name,
          description: weatherTool.description,
          input_schema: weatherTool.schema as Anthropic.Tool.InputSchema,
        },
      ]
      const message = await anthropic.messages.create({
        model,
        max_tokens: 100,
        tools,
        messages: [{ role: "user", content: "weather?" }],
      })
      expect(message.stop_reason).toBe("tool_use")
      const block = message.content.find((b) => b.type === "tool_use")!
      expect(block).toMatchObject({ type: "tool_use", name: "get_weather", input: { location: "Paris" } })

      const final = await anthropic.messages
        .stream({ model, max_tokens: 100, tools, messages: [{ role: "user", content: "weather?" }] })
        .finalMessage()
      expect(final.stop_reason).toBe("tool_use")
      expect(final.content.find((b) => b.type === "tool_use")).toMatchObject({ input: { location: "Paris" } })
    })

    it("answers errors in the Anthropic shape", async () => {
      const error = await anthropic.messages
        .create({ model: "no-such-model", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
        .catch((e) => e)
      expect(error).toBeInstanceOf(Anthropic.NotFoundError)
      expect(error.error).toMatchObject({ type: "error", error: { type: "not_found_error" } })
    })
  })

  describe("Gemini client", () => {
    it.each(["gemini-2.5-flash", "gpt-4o-mini", "claude-haiku-4-5"])(
      "generateContent with %s, JSON and streamed",
      async (model) => {
        const result = await gemini.models.generateContent({ model, contents: "hi" })
        expect(result.text).toBe("Hello from mock: hi")
        expect(result.candidates![0]!.finishReason).toBe("STOP")
        expect(result.usageMetadata!.promptTokenCount).toBeGreaterThan(0)

        let text = ""
        for await (const chunk of await gemini.models.generateContentStream({ model, contents: "stream" }))
          text += chunk.text ?? ""
        expect(text).toBe("Hello from mock: stream")
      },
    )

    it.each(["gpt-4o-mini", "claude-haiku-4-5"])("function calls through %s", async (model) => {
      const result = await gemini.models.generateContent({
        model,
        contents: "weather?",
        config: {
          tools: [
            {
              functionDeclarations: [
                {
                  name: weatherTool.name,
                  description: weatherTool.description,
                  parametersJsonSchema: weatherTool.schema,
                },
              ],
            },
          ],
        },
      })
      expect(result.functionCalls?.[0]).toMatchObject({ name: "get_weather", args: { location: "Paris" } })
    })

    it("answers errors in the Gemini shape", async () => {
      const error = await gemini.models.generateContent({ model: "no-such-model", contents: "x" }).catch((e) => e)
      expect(String(error.message)).toContain("NOT_FOUND")
    })
  })
})
