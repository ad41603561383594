import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { describe, expect, it } from "vitest"
import { useMockGateway } from "../support/MockGateway.js"
import { chatOnlyProvider, protocolProviders } from "../support/ProtocolProviders.js"

const shellTool: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "shell",
  description: "Runs a shell command",
  parameters: {
    type: "object",
    properties: { command: { type: "array", items: { type: "string" } } },
    required: ["command"],
  },
  strict: false,
}

/**
 * No silent drops (protocol/ConversionLoss): what another dialect cannot express is refused with
 * a 400 in the client's dialect naming it and the provider protocol — after the walk looked for a
 * candidate that serves the request natively — and what is optional is dropped with
 * `x-apiproxy-dropped` naming it.
 */
describe("converted requests never lose a feature silently", () => {
  const t = useMockGateway({
    mock: { models: ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash", "chat-only"] },
    gatewayFile: (mockUrl) => ({
      providers: [...protocolProviders(mockUrl), chatOnlyProvider(mockUrl)],
      logical_models: [
        {
          id: "mixed",
          upstreams: [
            { provider: "claude", model: "claude-haiku-4-5", priority: 0 },
            { provider: "oai", model: "gpt-4o-mini", priority: 1 },
          ],
        },
        {
          id: "converted-only",
          upstreams: [
            { provider: "claude", model: "claude-haiku-4-5" },
            { provider: "gem", model: "gemini-2.5-flash" },
          ],
        },
      ],
    }),
  })

  describe("refused", () => {
    it.each([
      ["claude-haiku-4-5", "anthropic provider protocol (Anthropic Messages)"],
      ["gemini-2.5-flash", "gemini provider protocol (Gemini)"],
      ["chat-only", "openai provider protocol (OpenAI chat completions)"],
    ])(
      "a Responses request with a hosted tool for %s: 400 in OpenAI's shape, nothing sent",
      async (model, protocol) => {
        const error = await t.openai.responses
          .create({ model, input: "find it", tools: [shellTool, { type: "web_search" }, { type: "local_shell" }] })
          .catch((e) => e)
        expect(error).toBeInstanceOf(OpenAI.BadRequestError)
        expect(error.error).toMatchObject({ type: "invalid_request_error", code: "unsupported_feature" })
        expect(error.message).toContain("tool type 'web_search', tool type 'local_shell'")
        expect(error.message).toContain(protocol)
        expect(t.mock.received).toHaveLength(0)
      },
    )

    it("a Responses request with a hosted tool is passed through to an OpenAI Responses upstream", async () => {
      const response = await t.openai.responses.create({
        model: "gpt-4o-mini",
        input: "find it",
        tools: [shellTool, { type: "web_search" }],
      })
      expect(response.status).toBe("completed")
      expect((t.mock.received[0]!.body as { tools: unknown }).tools).toEqual([shellTool, { type: "web_search" }])
    })

    it("the walk passes over a converting candidate to one that serves the request natively", async () => {
      const { data, response } = await t.openai.responses
        .create({ model: "mixed", input: "shell", tools: [shellTool, { type: "local_shell" }] })
        .withResponse()
      expect(data.status).toBe("completed")
      expect(response.headers.get("x-apiproxy-provider")).toBe("oai")
      expect(t.mock.received.map((r) => r.path)).toEqual(["/v1/responses"])
      // Without the hosted tool the first tier (Anthropic, converted) serves it.
      const plain = await t.openai.responses
        .create({ model: "mixed", input: "shell", tools: [shellTool] })
        .withResponse()
      expect(plain.response.headers.get("x-apiproxy-provider")).toBe("claude")
    })

    it("no candidate can express it: the 400 names the first one's protocol", async () => {
      const error = await t.openai.responses
        .create({
          model: "converted-only",
          input: "x",
          tools: [{ type: "code_interpreter", container: { type: "auto" } }],
        })
        .catch((e) => e)
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect(error.message).toContain("tool type 'code_interpreter'")
      expect(t.mock.received).toHaveLength(0)
    })

    it.each(["gpt-4o-mini", "gemini-2.5-flash"])(
      "an Anthropic server tool for %s: 400 in Anthropic's shape",
      async (model) => {
        const error = await t.anthropic.messages
          .create({
            model,
            max_tokens: 64,
            tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 2 }],
            messages: [{ role: "user", content: "search" }],
          })
          .catch((e) => e)
        expect(error).toBeInstanceOf(Anthropic.BadRequestError)
        expect(error.error).toMatchObject({ type: "error", error: { type: "invalid_request_error" } })
        expect(error.error.error.message).toContain("tool type 'web_search_20250305'")
        expect(t.mock.received).toHaveLength(0)
      },
    )

    it("an Anthropic document block for an OpenAI upstream: 400 naming it", async () => {
      const error = await t.anthropic.messages
        .create({
          model: "gpt-4o-mini",
          max_tokens: 64,
          messages: [
            {
              role: "user",
              content: [
                { type: "document", source: { type: "text", media_type: "text/plain", data: "doc" } },
                { type: "text", text: "summarise" },
              ],
            },
          ],
        })
        .catch((e) => e)
      expect(error).toBeInstanceOf(Anthropic.BadRequestError)
      expect(error.error.error.message).toContain("content type 'document'")
    })

    it("a Gemini built-in tool for an Anthropic upstream: 400 in Gemini's shape", async () => {
      const error = await t.gemini.models
        .generateContent({ model: "claude-haiku-4-5", contents: "search", config: { tools: [{ googleSearch: {} }] } })
        .catch((e) => e)
      expect(String(error.message)).toContain("INVALID_ARGUMENT")
      expect(String(error.message)).toContain("tool 'googleSearch'")
      expect(t.mock.received).toHaveLength(0)
    })

    it("an audio part in OpenAI chat for an Anthropic upstream: 400 naming it", async () => {
      const error = await t.openai.chat.completions
        .create({
          model: "claude-haiku-4-5",
          messages: [
            { role: "user", content: [{ type: "input_audio", input_audio: { data: "UklG", format: "wav" } }] },
          ],
        })
        .catch((e) => e)
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect(error.message).toContain("content type 'input_audio'")
    })

    it("a JSON response format for an Anthropic upstream: refused there, served natively by the next tier", async () => {
      const error = await t.openai.chat.completions
        .create({
          model: "claude-haiku-4-5",
          messages: [{ role: "user", content: "json" }],
          response_format: { type: "json_object" },
        })
        .catch((e) => e)
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect(error.message).toContain("field 'response_format'")
      expect(t.mock.received).toHaveLength(0)
      const { response } = await t.openai.chat.completions
        .create({
          model: "mixed",
          messages: [{ role: "user", content: "json" }],
          response_format: { type: "json_object" },
        })
        .withResponse()
      expect(response.headers.get("x-apiproxy-provider")).toBe("oai")
    })

    it("a Claude-style body with a server tool on /v1/chat/completions: 400 naming it", async () => {
      const response = await fetch(`${t.gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.gateway.masterKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          anthropic_version: "2023-06-01",
          max_tokens: 10,
          tools: [{ type: "web_fetch_20250910", name: "web_fetch" }],
          messages: [{ role: "user", content: "x" }],
        }),
      })
      expect(response.status).toBe(400)
      const body = (await response.json()) as { error: { message: string; code: string } }
      expect(body.error.code).toBe("unsupported_feature")
      expect(body.error.message).toContain("tool type 'web_fetch_20250910'")
    })
  })

  describe("dropped with x-apiproxy-dropped", () => {
    it("cache hints and earlier thinking for an OpenAI upstream, JSON and streamed", async () => {
      const params: Anthropic.MessageCreateParamsNonStreaming = {
        model: "gpt-4o-mini",
        max_tokens: 64,
        system: [{ type: "text", text: "be brief", cache_control: { type: "ephemeral" } }],
        messages: [
          { role: "user", content: "first" },
          {
            role: "assistant",
            content: [
              { type: "thinking", thinking: "hmm", signature: "sig" },
              { type: "text", text: "ok" },
            ],
          },
          { role: "user", content: [{ type: "text", text: "second", cache_control: { type: "ephemeral" } }] },
        ],
      }
      const { data, response } = await t.anthropic.messages.create(params).withResponse()
      expect(data.content[0]).toMatchObject({ type: "text", text: "Hello from mock: second" })
      expect(response.headers.get("x-apiproxy-dropped")).toBe("cache_control, thinking")
      const streamed = await t.anthropic.messages.stream(params).withResponse()
      expect(streamed.response.headers.get("x-apiproxy-dropped")).toBe("cache_control, thinking")
      const sent = JSON.stringify(t.mock.received[0]!.body)
      expect(sent).not.toContain("cache_control")
      expect(sent).not.toContain("hmm")
    })

    it("sampling knobs an Anthropic upstream has no field for", async () => {
      const { response } = await t.openai.chat.completions
        .create({
          model: "claude-haiku-4-5",
          messages: [{ role: "user", content: "x" }],
          seed: 7,
          presence_penalty: 0.5,
        })
        .withResponse()
      expect(response.headers.get("x-apiproxy-dropped")).toBe("presence_penalty, seed")
    })

    it("no header on passthrough, which loses nothing", async () => {
      const { response } = await t.anthropic.messages
        .create({
          model: "claude-haiku-4-5",
          max_tokens: 64,
          system: [{ type: "text", text: "s", cache_control: { type: "ephemeral" } }],
          messages: [{ role: "user", content: "x" }],
        })
        .withResponse()
      expect(response.headers.get("x-apiproxy-dropped")).toBeNull()
      expect(JSON.stringify(t.mock.received[0]!.body)).toContain("cache_control")
    })
  })
})
