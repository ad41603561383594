import { Either } from "effect"
import { describe, expect, it } from "vitest"
import type { Dialect } from "../../../src/protocol/Canonical.js"
import { conversionLoss, NO_LOSS } from "../../../src/protocol/ConversionLoss.js"
import { codecs } from "../../../src/protocol/Dialect.js"
import { lossFor } from "../../../src/protocol/TargetLoss.js"

/** The loss of `body` decoded as the codec would (so `extra` is the codec's own unknown fields). */
const lossOf = (dialect: Dialect, body: Record<string, unknown>) => {
  const canonical = codecs[dialect].decodeRequest(body, { model: "m", stream: false })
  if (Either.isLeft(canonical)) throw new Error(canonical.left.message)
  return conversionLoss(dialect, body, canonical.right.extra)
}

const fn = { name: "get_weather", description: "w", input_schema: { type: "object", properties: {} } }

describe("conversionLoss", () => {
  it("finds nothing in a plain request of any dialect", () => {
    expect(
      lossOf("anthropic", { model: "m", max_tokens: 5, tools: [fn], messages: [{ role: "user", content: "hi" }] }),
    ).toBe(NO_LOSS)
    expect(
      lossOf("openai-chat", {
        model: "m",
        messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
        n: 1,
      }),
    ).toBe(NO_LOSS)
    expect(
      lossOf("openai-responses", {
        model: "m",
        input: "hi",
        tools: [{ type: "function", name: "f", parameters: {} }],
        store: false,
      }),
    ).toBe(NO_LOSS)
    expect(
      lossOf("gemini", {
        contents: [{ role: "user", parts: [{ text: "hi" }] }],
        tools: [{ functionDeclarations: [] }],
      }),
    ).toBe(NO_LOSS)
  })

  it("Anthropic: refuses server tools, documents and file images; drops cache hints and earlier thinking", () => {
    const loss = lossOf("anthropic", {
      model: "m",
      max_tokens: 5,
      system: [{ type: "text", text: "s", cache_control: { type: "ephemeral" } }],
      tools: [
        fn,
        { type: "web_search_20250305", name: "web_search", max_uses: 3 },
        { type: "bash_20250124", name: "bash" },
      ],
      messages: [
        {
          role: "user",
          content: [
            { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBER" } },
            { type: "image", source: { type: "file", file_id: "f1" } },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "t", signature: "sig" },
            { type: "redacted_thinking", data: "x" },
            { type: "tool_use", id: "t1", name: "get_weather", input: {} },
          ],
        },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "t1",
              content: [{ type: "search_result", source: "s", title: "t", content: [] }],
              cache_control: { type: "ephemeral" },
            },
          ],
        },
      ],
      mcp_servers: [{ type: "url", url: "https://mcp.example", name: "m" }],
      context_management: { edits: [] },
    })
    expect(loss.refused).toEqual([
      "tool type 'web_search_20250305'",
      "tool type 'bash_20250124'",
      "content type 'document'",
      "image source 'file'",
      "content type 'search_result'",
      "field 'mcp_servers'",
    ])
    expect(loss.dropped).toEqual(["cache_control", "thinking", "redacted_thinking", "context_management"])
  })

  it("Responses: refuses hosted tools, unknown items, files and stored prompts; leaves the stored-state fields to the gateway", () => {
    const loss = lossOf("openai-responses", {
      model: "m",
      tools: [
        { type: "function", name: "shell", parameters: {} },
        { type: "web_search" },
        { type: "local_shell" },
        { type: "custom", name: "apply_patch" },
      ],
      input: [
        {
          role: "user",
          content: [
            { type: "input_text", text: "hi" },
            { type: "input_file", file_id: "file-1" },
            { type: "input_image", file_id: "file-2" },
          ],
        },
        { type: "reasoning", summary: [], encrypted_content: "gAAA" },
        { type: "local_shell_call", call_id: "c", action: { type: "exec", command: ["ls"] } },
        { type: "function_call", call_id: "c2", name: "shell", arguments: "{}" },
        { type: "function_call_output", call_id: "c2", output: "ok" },
      ],
      include: ["reasoning.encrypted_content"],
      prompt: { id: "pmpt_1" },
      text: { verbosity: "low" },
      store: false,
      previous_response_id: "resp_1",
    })
    expect(loss.refused).toEqual([
      "tool type 'web_search'",
      "tool type 'local_shell'",
      "tool type 'custom'",
      "content type 'input_file'",
      "content type 'input_image with file_id'",
      "input item type 'local_shell_call'",
      "field 'prompt'",
    ])
    expect(loss.dropped).toEqual(["reasoning", "text.verbosity", "include"])
  })

  it("OpenAI chat: refuses custom tools, audio and file parts, several choices and audio output", () => {
    const loss = lossOf("openai-chat", {
      model: "m",
      tools: [
        { type: "function", function: { name: "f" } },
        { type: "custom", custom: { name: "c" } },
      ],
      messages: [
        {
          role: "user",
          content: [
            { type: "input_audio", input_audio: { data: "x", format: "wav" } },
            { type: "file", file: { file_id: "f" } },
          ],
        },
        { role: "assistant", content: "a", reasoning_content: "r" },
      ],
      n: 2,
      modalities: ["text", "audio"],
      audio: { voice: "alloy", format: "wav" },
      logprobs: true,
    })
    expect(loss.refused).toEqual([
      "tool type 'custom'",
      "content type 'input_audio'",
      "content type 'file'",
      "field 'n'",
      "field 'modalities'",
      "field 'audio'",
    ])
    expect(loss.dropped).toEqual(["reasoning_content", "logprobs"])
  })

  it("Gemini: refuses built-in tools, non-image data, file URIs and cached content; drops thoughts", () => {
    const loss = lossOf("gemini", {
      contents: [
        {
          role: "user",
          parts: [
            { text: "hi" },
            { inlineData: { mimeType: "application/pdf", data: "JVBER" } },
            {
              fileData: { mimeType: "video/mp4", fileUri: "https://generativelanguage.googleapis.com/v1beta/files/x" },
            },
          ],
        },
        {
          role: "model",
          parts: [
            { text: "t", thought: true },
            { functionCall: { name: "f", args: {} }, thoughtSignature: "sig" },
            { executableCode: { language: "PYTHON", code: "1" } },
          ],
        },
      ],
      tools: [{ functionDeclarations: [] }, { googleSearch: {} }, { codeExecution: {} }],
      cachedContent: "cachedContents/abc",
      safetySettings: [],
    })
    expect(loss.refused).toEqual([
      "tool 'googleSearch'",
      "tool 'codeExecution'",
      "inlineData of type 'application/pdf'",
      "part 'fileData'",
      "part 'executableCode'",
      "field 'cachedContent'",
    ])
    expect(loss.dropped).toEqual(["thought", "thoughtSignature", "safetySettings"])
  })

  it("for an Anthropic target, also names the reasoning setting when thinking cannot stay on", () => {
    const body = {
      model: "m",
      messages: [
        { role: "user", content: "q" },
        {
          role: "assistant",
          content: null,
          reasoning_content: "r",
          tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "c", content: "ok" },
      ],
      reasoning_effort: "high",
    }
    const canonical = Either.getOrThrow(codecs["openai-chat"].decodeRequest(body))
    const loss = conversionLoss("openai-chat", body, canonical.extra)
    expect(lossFor(loss, "openai-chat", "anthropic", canonical).dropped).toEqual([
      "reasoning_content",
      "reasoning_effort",
    ])
    expect(lossFor(loss, "openai-chat", "gemini", canonical)).toBe(loss)
    const plain = Either.getOrThrow(
      codecs["openai-chat"].decodeRequest({ ...body, messages: [{ role: "user", content: "q" }] }),
    )
    expect(lossFor(NO_LOSS, "openai-chat", "anthropic", plain)).toBe(NO_LOSS)
  })

  it("quotes hostile names bounded and printable, and keeps at most 16 of each kind", () => {
    const tools = Array.from({ length: 40 }, (_, i) => ({ type: `t${i}\r\n${"x".repeat(100)}`, name: "n" }))
    const loss = lossOf("anthropic", { model: "m", max_tokens: 5, tools, messages: [] })
    expect(loss.refused).toHaveLength(16)
    for (const name of loss.refused) {
      expect(name).toMatch(/^[\x20-\x7e…]+$/)
      expect(name.length).toBeLessThan(100)
    }
  })
})
