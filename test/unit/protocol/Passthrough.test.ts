import { describe, expect, it } from "@effect/vitest"
import { sequentialIds } from "../../../src/protocol/Ids.js"
import { makeRelay, prepareRequest } from "../../../src/protocol/Passthrough.js"
import { anthropicSse, dataSse } from "./Frames.js"

describe("same-dialect passthrough", () => {
  it("OpenAI chat: rewrites model, always asks for stream usage, remembers whether the client did", () => {
    const p = prepareRequest(
      "openai-chat",
      { model: "alias", messages: [], stream: true, top_logprobs: 2 },
      "gpt-4o-2024",
      true,
    )
    expect(p.body).toEqual({
      model: "gpt-4o-2024",
      messages: [],
      stream: true,
      top_logprobs: 2,
      stream_options: { include_usage: true },
    })
    expect(p.clientWantsUsage).toBe(false)
    expect(
      prepareRequest("openai-chat", { model: "a", stream_options: { include_usage: true } }, "b", true)
        .clientWantsUsage,
    ).toBe(true)
    expect(prepareRequest("gemini", { contents: [] }, "gemini-2.0-flash", true).path).toBe(
      "models/gemini-2.0-flash:streamGenerateContent?alt=sse",
    )
  })

  it("W2: an OpenAI-format stream from a gemini-* model passes through intact (only the requested usage chunk is stripped)", () => {
    const chunks = [
      {
        id: "c1",
        object: "chat.completion.chunk",
        created: 1,
        model: "gemini-2.5-flash",
        choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
      },
      {
        id: "c1",
        object: "chat.completion.chunk",
        created: 1,
        model: "gemini-2.5-flash",
        choices: [{ index: 0, delta: { content: "Hello" }, finish_reason: null }],
      },
      {
        id: "c1",
        object: "chat.completion.chunk",
        created: 1,
        model: "gemini-2.5-flash",
        choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
      },
      {
        id: "c1",
        object: "chat.completion.chunk",
        created: 1,
        model: "gemini-2.5-flash",
        choices: [],
        usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 },
      },
    ]
    const relay = makeRelay("openai-chat", sequentialIds(), false)
    const out = [...dataSse(chunks), { data: "[DONE]" }].map((e) => relay.push(e))
    expect(out).toEqual([...chunks.slice(0, 3).map((c) => `data: ${JSON.stringify(c)}\n\n`), "", "data: [DONE]\n\n"])
    expect(relay.usage).toEqual({ inputTokens: 4, outputTokens: 1 })
    expect(relay.meaningful).toBe(true)
    expect(relay.complete).toBe(true)
    expect(relay.finish()).toBeUndefined()
  })

  it("Anthropic: frames are relayed with their event lines; usage merged from message_start and message_delta; a cut is reported", () => {
    const relay = makeRelay("anthropic", sequentialIds())
    const evs = anthropicSse([
      [
        "message_start",
        { type: "message_start", message: { id: "msg_1", usage: { input_tokens: 7, output_tokens: 1 } } },
      ],
      ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }],
      ["message_delta", { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 9 } }],
    ])
    const out = evs.map((e) => relay.push(e))
    expect(out[0]).toBe(`event: message_start\ndata: ${evs[0]!.data}\n\n`)
    expect(relay.usage).toEqual({ inputTokens: 7, outputTokens: 9 })
    expect(relay.complete).toBe(false)
    expect(relay.finish()?.code).toBe("upstream_truncated")
  })
})

describe("passthrough in-band errors", () => {
  it("continue the relayed stream in its own dialect", () => {
    const err = { kind: "timeout" as const, message: "idle", status: 504 }
    const r = makeRelay("openai-responses", sequentialIds())
    r.push({
      event: "response.created",
      data: JSON.stringify({ type: "response.created", sequence_number: 0, response: { id: "resp_1" } }),
    })
    r.push({
      event: "response.output_text.delta",
      data: JSON.stringify({ type: "response.output_text.delta", sequence_number: 4, item_id: "m", delta: "x" }),
    })
    expect(r.errorFrames(err)).toEqual([
      `event: error\ndata: ${JSON.stringify({ type: "error", code: "server_error", message: "idle", param: null, sequence_number: 5 })}\n\n`,
    ])
    expect(makeRelay("anthropic", sequentialIds()).errorFrames(err)[0]).toBe(
      `event: error\ndata: {"type":"error","error":{"type":"timeout_error","message":"idle"}}\n\n`,
    )
    expect(makeRelay("openai-chat", sequentialIds()).errorFrames(err)[0]).toBe(
      `data: {"error":{"message":"idle","type":"timeout_error","param":null,"code":null}}\n\n`,
    )
  })
})
