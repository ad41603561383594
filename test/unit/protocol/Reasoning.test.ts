import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { codecs } from "../../../src/protocol/Dialect.js"
import { makeTranscoder } from "../../../src/protocol/Transcoder.js"
import { anthropicSse, ctx, jsonData, parseFrames } from "./Frames.js"

const thinkingStream = anthropicSse([
  [
    "message_start",
    { type: "message_start", message: { id: "msg_t", model: "claude", usage: { input_tokens: 5, output_tokens: 1 } } },
  ],
  ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } }],
  [
    "content_block_delta",
    { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Let me think" } },
  ],
  [
    "content_block_delta",
    { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "SIG==" } },
  ],
  ["content_block_stop", { type: "content_block_stop", index: 0 }],
  [
    "content_block_start",
    { type: "content_block_start", index: 1, content_block: { type: "redacted_thinking", data: "OPAQUE" } },
  ],
  ["content_block_stop", { type: "content_block_stop", index: 1 }],
  ["content_block_start", { type: "content_block_start", index: 2, content_block: { type: "text", text: "" } }],
  ["content_block_delta", { type: "content_block_delta", index: 2, delta: { type: "text_delta", text: "42" } }],
  ["content_block_stop", { type: "content_block_stop", index: 2 }],
  ["message_delta", { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 30 } }],
  ["message_stop", { type: "message_stop" }],
])

describe("reasoning / thinking", () => {
  it("Anthropic → Anthropic (transcoded) keeps thinking text, signature and redacted blocks", () => {
    const t = makeTranscoder("anthropic", "anthropic", ctx("claude"))
    const evs = parseFrames([...thinkingStream.flatMap((e) => t.push(e)), ...t.finish()])
    const data = evs.map((e) => JSON.parse(e.data))
    expect(data.find((d) => d.delta?.type === "thinking_delta").delta.thinking).toBe("Let me think")
    expect(data.find((d) => d.delta?.type === "signature_delta").delta.signature).toBe("SIG==")
    expect(data.find((d) => d.content_block?.type === "redacted_thinking").content_block.data).toBe("OPAQUE")
    expect(data.filter((d) => d.type === "content_block_start").map((d) => d.index)).toEqual([0, 1, 2])
  })

  it("Anthropic thinking → OpenAI chat reasoning_content, signature not leaked", () => {
    const t = makeTranscoder("anthropic", "openai-chat", ctx())
    const out = [...thinkingStream.flatMap((e) => t.push(e)), ...t.finish()]
    const chunks = jsonData(out)
    expect(chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? "").join("")).toBe("Let me think")
    expect(out.join("")).not.toContain("SIG==")
    expect(out.join("")).not.toContain("OPAQUE")
  })

  it("Anthropic thinking → Responses reasoning items with a summary, the signatures carried in encrypted_content", () => {
    const t = makeTranscoder("anthropic", "openai-responses", ctx())
    const evs = parseFrames([...thinkingStream.flatMap((e) => t.push(e)), ...t.finish()])
    const final = JSON.parse(evs[evs.length - 1]!.data).response
    expect(final.output.map((i: any) => i.type)).toEqual(["reasoning", "reasoning", "message"])
    expect(final.output[0].summary).toEqual([{ type: "summary_text", text: "Let me think" }])
    expect(final.output[0].encrypted_content).toBe("apiproxy:anthropic:SIG==")
    expect(final.output[1]).toMatchObject({ summary: [], encrypted_content: "apiproxy:anthropic-redacted:OPAQUE" })
    // output_item.done carries the same items as response.completed.
    const done = evs
      .map((e) => JSON.parse(e.data))
      .filter((d) => d.type === "response.output_item.done")
      .map((d) => d.item)
    expect(done.slice(0, 2)).toEqual(final.output.slice(0, 2))
  })

  it("reasoning items a Responses client sends back reach Anthropic as the thinking it signed", () => {
    const answer = codecs.anthropic.decodeResponse({
      id: "msg_1",
      model: "claude",
      role: "assistant",
      content: [
        { type: "thinking", thinking: "plan", signature: "S1" },
        { type: "redacted_thinking", data: "R1" },
        { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } },
      ],
      stop_reason: "tool_use",
      usage: { input_tokens: 1, output_tokens: 1 },
    })
    const output = (codecs["openai-responses"].encodeResponse(answer, ctx()) as any).output.map(
      ({ id: _id, status: _status, ...item }: any) => item,
    )
    const req = Either.getOrThrow(
      codecs["openai-responses"].decodeRequest({
        model: "m",
        reasoning: { effort: "low" },
        input: [
          { role: "user", content: "q" },
          ...output,
          { type: "function_call_output", call_id: "toolu_1", output: "ok" },
        ],
      }),
    )
    const body = codecs.anthropic.encodeRequest(req, "claude", { stream: false }).body as any
    expect(body.messages[1].content).toEqual([
      { type: "thinking", thinking: "plan", signature: "S1" },
      { type: "redacted_thinking", data: "R1" },
      { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } },
    ])
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 })
    // OpenAI's own encrypted reasoning is passed as it is, and only to OpenAI.
    const openai = Either.getOrThrow(
      codecs["openai-responses"].decodeRequest({
        model: "m",
        input: [{ type: "reasoning", summary: [], encrypted_content: "apiproxy:unknown:x" }],
      }),
    )
    expect(openai.messages[0]!.content[0]).toEqual({
      type: "reasoning",
      text: "",
      signature: { origin: "openai", value: "apiproxy:unknown:x" },
    })
  })

  it("thinking is left off for a tool turn without Anthropic's signed thinking, not sent to be refused", () => {
    const req = Either.getOrThrow(
      codecs["openai-responses"].decodeRequest({
        model: "m",
        reasoning: { effort: "medium" },
        temperature: 0.2,
        input: [
          { role: "user", content: "q" },
          { type: "reasoning", summary: [{ type: "summary_text", text: "openai's" }], encrypted_content: "gAAAA" },
          { type: "function_call", call_id: "c1", name: "f", arguments: "{}" },
          { type: "function_call_output", call_id: "c1", output: "ok" },
        ],
      }),
    )
    const body = codecs.anthropic.encodeRequest(req, "claude", { stream: false }).body as any
    expect(body.thinking).toBeUndefined()
    expect(body.temperature).toBe(0.2)
    expect(body.messages[1].content).toEqual([{ type: "tool_use", id: "c1", name: "f", input: {} }])
  })

  it("a signed thinking block is replayed to Anthropic, and foreign reasoning is not", () => {
    const req = Either.getOrThrow(
      codecs.anthropic.decodeRequest({
        model: "m",
        max_tokens: 5,
        messages: [
          { role: "user", content: "q" },
          {
            role: "assistant",
            content: [
              { type: "thinking", thinking: "hmm", signature: "S" },
              { type: "redacted_thinking", data: "R" },
              { type: "text", text: "a" },
            ],
          },
          { role: "user", content: "more" },
        ],
        thinking: { type: "enabled", budget_tokens: 2048 },
      }),
    )
    const body = codecs.anthropic.encodeRequest(req, "claude", { stream: false }).body as any
    expect(body.messages[1].content).toEqual([
      { type: "thinking", thinking: "hmm", signature: "S" },
      { type: "redacted_thinking", data: "R" },
      { type: "text", text: "a" },
    ])
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 })
    expect(body.max_tokens).toBeGreaterThan(2048)
    const gem = codecs.gemini.encodeRequest(req, "g", { stream: false }).body as any
    expect(gem.contents[1].parts).toEqual([{ text: "a" }])
    const chat = codecs["openai-chat"].encodeRequest(req, "o", { stream: false }).body as any
    expect(chat.messages[1]).toEqual({ role: "assistant", content: "a" })
  })

  it("Gemini thought signatures on function calls survive a Gemini → Gemini transcoding", () => {
    const t = makeTranscoder("gemini", "gemini", ctx())
    const frame = {
      candidates: [
        {
          content: { role: "model", parts: [{ functionCall: { name: "f", args: { a: 1 } }, thoughtSignature: "TS" }] },
          finishReason: "STOP",
        },
      ],
    }
    const out = [...t.push({ data: JSON.stringify(frame) }), ...t.finish()]
    const parts = jsonData(out).flatMap((c) => c.candidates[0].content.parts)
    expect(parts.find((p: any) => p.functionCall)).toMatchObject({
      functionCall: { name: "f", args: { a: 1 } },
      thoughtSignature: "TS",
    })
  })
})

describe("Anthropic server tools", () => {
  it("server_tool_use and its result blocks are not turned into client tool calls", () => {
    const t = makeTranscoder("anthropic", "openai-chat", ctx())
    const evs = anthropicSse([
      [
        "message_start",
        { type: "message_start", message: { id: "m", model: "c", usage: { input_tokens: 1, output_tokens: 1 } } },
      ],
      [
        "content_block_start",
        {
          type: "content_block_start",
          index: 0,
          content_block: { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: {} },
        },
      ],
      [
        "content_block_delta",
        { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '{"query":"x"}' } },
      ],
      ["content_block_stop", { type: "content_block_stop", index: 0 }],
      [
        "content_block_start",
        {
          type: "content_block_start",
          index: 1,
          content_block: { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] },
        },
      ],
      ["content_block_stop", { type: "content_block_stop", index: 1 }],
      ["content_block_start", { type: "content_block_start", index: 2, content_block: { type: "text", text: "" } }],
      [
        "content_block_delta",
        { type: "content_block_delta", index: 2, delta: { type: "text_delta", text: "Found it" } },
      ],
      ["content_block_stop", { type: "content_block_stop", index: 2 }],
      ["message_delta", { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 3 } }],
      ["message_stop", { type: "message_stop" }],
    ])
    const chunks = jsonData([...evs.flatMap((e) => t.push(e)), ...t.finish()])
    expect(chunks.some((c) => c.choices[0]?.delta?.tool_calls)).toBe(false)
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("Found it")
    expect(chunks.flatMap((c) => c.choices.map((x: any) => x.finish_reason)).filter(Boolean)).toEqual(["stop"])
  })
})
