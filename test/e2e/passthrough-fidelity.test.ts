import { describe, expect, it } from "vitest"
import { SIGNATURE as MOCK_SIGNATURE } from "../../src/mock/Anthropic.js"
import { useMockGateway } from "../support/MockGateway.js"
import { PROTOCOL_MODELS, protocolProviders } from "../support/ProtocolProviders.js"
import { expectPassedThrough } from "../support/RecordedSession.js"

/**
 * Same dialect on both sides: the body reaches the upstream exactly as the client wrote it —
 * every field in its order, those the gateway does not model and those no other dialect could
 * express included — with only `model` replaced (and `stream` as the route decided).
 */
const FUTURE = { future_field: { nested: [1, "two", { three: null }] }, "x-vendor-extension": true }

const anthropicBody = (model: string) => ({
  model,
  max_tokens: 1024,
  system: [{ type: "text", text: "sys", cache_control: { type: "ephemeral", ttl: "1h" } }],
  tools: [
    {
      name: "get_weather",
      description: "w",
      input_schema: { type: "object", properties: { city: { type: "string" } } },
      cache_control: { type: "ephemeral" },
    },
    { type: "web_search_20250305", name: "web_search", max_uses: 2 },
  ],
  messages: [
    {
      role: "user",
      content: [
        {
          type: "document",
          source: { type: "text", media_type: "text/plain", data: "doc" },
          citations: { enabled: true },
        },
        { type: "text", text: "weather?" },
      ],
    },
    {
      role: "assistant",
      content: [
        { type: "thinking", thinking: "I should call the tool.", signature: MOCK_SIGNATURE },
        { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP" },
        { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } },
      ],
    },
    {
      role: "user",
      content: [
        {
          type: "tool_result",
          tool_use_id: "toolu_01",
          content: [{ type: "text", text: "sunny" }],
          is_error: false,
          cache_control: { type: "ephemeral" },
        },
      ],
    },
  ],
  thinking: { type: "enabled", budget_tokens: 512 },
  metadata: { user_id: "user-1" },
  context_management: { edits: [{ type: "clear_tool_uses_20250919" }] },
  mcp_servers: [{ type: "url", url: "https://mcp.example/sse", name: "example" }],
  ...FUTURE,
})

const responsesBody = (model: string) => ({
  model,
  instructions: "be brief",
  input: [
    { type: "message", role: "developer", content: [{ type: "input_text", text: "dev" }] },
    {
      type: "message",
      role: "user",
      content: [
        { type: "input_text", text: "hi" },
        { type: "input_file", file_id: "file-abc" },
      ],
    },
    {
      type: "reasoning",
      id: "rs_1",
      summary: [{ type: "summary_text", text: "thinking" }],
      encrypted_content: "gAAAAABo-encrypted",
    },
    { type: "function_call", id: "fc_1", call_id: "call_1", name: "shell", arguments: '{"command":["ls"]}' },
    { type: "function_call_output", call_id: "call_1", output: "a\nb" },
    {
      type: "local_shell_call",
      id: "lsh_1",
      call_id: "call_2",
      action: { type: "exec", command: ["pwd"] },
      status: "completed",
    },
    { type: "local_shell_call_output", call_id: "call_2", output: "/home" },
    { type: "item_reference", id: "msg_0" },
  ],
  tools: [
    { type: "function", name: "shell", parameters: { type: "object" }, strict: false },
    { type: "web_search" },
    { type: "local_shell" },
  ],
  include: ["reasoning.encrypted_content", "web_search_call.action.sources"],
  reasoning: { effort: "high", summary: "detailed" },
  text: { verbosity: "low" },
  store: false,
  truncation: "auto",
  service_tier: "flex",
  prompt_cache_key: "pck-1",
  ...FUTURE,
})

const geminiBody = () => ({
  contents: [
    {
      role: "user",
      parts: [
        { text: "hi" },
        { fileData: { mimeType: "video/mp4", fileUri: "https://generativelanguage.googleapis.com/v1beta/files/abc" } },
      ],
    },
    {
      role: "model",
      parts: [
        { text: "thought", thought: true },
        { functionCall: { name: "f", args: {} }, thoughtSignature: "c2lnbmF0dXJl" },
      ],
    },
    { role: "user", parts: [{ functionResponse: { name: "f", response: { result: "ok" } } }] },
  ],
  tools: [{ functionDeclarations: [{ name: "f", parametersJsonSchema: { type: "object" } }] }, { googleSearch: {} }],
  safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
  generationConfig: { thinkingConfig: { thinkingBudget: 128, includeThoughts: true }, responseModalities: ["TEXT"] },
  cachedContent: "cachedContents/abc",
  ...FUTURE,
})

describe("passthrough fidelity", () => {
  const t = useMockGateway({ gatewayFile: (mockUrl) => ({ providers: protocolProviders(mockUrl) }) })

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${t.gateway.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.gateway.masterKey}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    })

  it.each([false, true])(
    "Anthropic → Anthropic keeps cache_control, signed and redacted thinking, server tools and unknown fields (stream: %s)",
    async (stream) => {
      const body = { ...anthropicBody(`claude/${PROTOCOL_MODELS.anthropic}`), stream }
      const response = await post("/v1/messages?beta=true", body, {
        "anthropic-beta": "context-management-2025-06-27,mcp-client-2025-04-04",
      })
      expect(response.status).toBe(200)
      await response.text()
      expect(t.mock.received[0]!.path).toBe("/v1/messages")
      expectPassedThrough(t.mock.received[0]!, JSON.stringify(body), PROTOCOL_MODELS.anthropic)
      expect(t.mock.received[0]!.headers["anthropic-beta"]).toBe("context-management-2025-06-27,mcp-client-2025-04-04")
    },
  )

  it.each([false, true])(
    "Responses → OpenAI Responses keeps reasoning items with encrypted_content, include, hosted tools and unknown items (stream: %s)",
    async (stream) => {
      const body = { ...responsesBody(`oai/${PROTOCOL_MODELS.openai}`), stream }
      const response = await post("/v1/responses", body)
      expect(response.status).toBe(200)
      await response.text()
      expect(t.mock.received[0]!.path).toBe("/v1/responses")
      expectPassedThrough(t.mock.received[0]!, JSON.stringify(body), PROTOCOL_MODELS.openai)
    },
  )

  it.each([false, true])(
    "Gemini → Gemini keeps thought signatures, file data, built-in tools and unknown fields (stream: %s)",
    async (stream) => {
      const body = geminiBody()
      const method = stream ? "streamGenerateContent?alt=sse" : "generateContent"
      const response = await post(`/v1beta/models/gem/${PROTOCOL_MODELS.gemini}:${method}`, body, {
        "x-goog-api-key": t.gateway.masterKey,
      })
      expect(response.status).toBe(200)
      await response.text()
      expect(t.mock.received[0]!.path).toBe(
        `/v1beta/models/${PROTOCOL_MODELS.gemini}:${stream ? "streamGenerateContent" : "generateContent"}`,
      )
      expect(JSON.stringify(t.mock.received[0]!.body)).toBe(JSON.stringify(body))
    },
  )
})
