import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as AnthropicRequest from "../../../src/protocol/anthropic/Request.js"
import * as AnthropicResponse from "../../../src/protocol/anthropic/Response.js"
import * as AnthropicStream from "../../../src/protocol/anthropic/Stream.js"
import type { CanonicalRequest, StreamEvent } from "../../../src/protocol/Canonical.js"
import { sequentialIds } from "../../../src/protocol/Ids.js"
import * as ChatRequest from "../../../src/protocol/openai-chat/Request.js"
import * as ChatResponse from "../../../src/protocol/openai-chat/Response.js"
import * as ChatStream from "../../../src/protocol/openai-chat/Stream.js"
import { anthropicSse, ctx, dataSse, jsonData, parseFrames } from "./Frames.js"

const decodeChat = (body: unknown): CanonicalRequest => Either.getOrThrow(ChatRequest.decodeRequest(body))

const toolBody = {
  model: "claude-sonnet",
  messages: [
    { role: "system", content: "Be brief." },
    {
      role: "user",
      content: [
        { type: "text", text: "Weather in Paris?" },
        { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
      ],
    },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }],
    },
    { role: "tool", tool_call_id: "call_1", content: "18C" },
  ],
  tools: [
    {
      type: "function",
      function: {
        name: "weather",
        description: "w",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    },
  ],
  tool_choice: "required",
  max_tokens: 100,
  stop: "END",
  temperature: 0.2,
  stream: true,
  stream_options: { include_usage: true },
  logit_bias: { "1": 2 },
}

describe("OpenAI chat request → Anthropic request", () => {
  it("maps system, images, tool calls, tool results, tools and parameters", () => {
    const req = decodeChat(toolBody)
    expect(req.extra).toEqual({ logit_bias: { "1": 2 } })
    expect(req.streamUsage).toBe(true)
    const body = AnthropicRequest.encodeRequest(req, "claude-3-5-sonnet-latest", { stream: true })
    expect(body).toEqual({
      model: "claude-3-5-sonnet-latest",
      system: [{ type: "text", text: "Be brief." }],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Weather in Paris?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
          ],
        },
        { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "weather", input: { city: "Paris" } }] },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: "call_1", content: [{ type: "text", text: "18C" }] }],
        },
      ],
      max_tokens: 100,
      temperature: 0.2,
      stop_sequences: ["END"],
      tools: [
        {
          name: "weather",
          description: "w",
          input_schema: { type: "object", properties: { city: { type: "string" } } },
        },
      ],
      tool_choice: { type: "any" },
      stream: true,
    })
  })

  it("never forwards OpenAI-only fields to Anthropic, and replays them to OpenAI", () => {
    const req = decodeChat(toolBody)
    expect(ChatRequest.encodeRequest(req, "gpt-4o", { stream: true })).toMatchObject({
      logit_bias: { "1": 2 },
      stream_options: { include_usage: true },
    })
  })

  it("rejects a body without messages with a ProtocolError", () => {
    const r = ChatRequest.decodeRequest({ model: "x" })
    expect(Either.isLeft(r)).toBe(true)
  })
})

describe("Anthropic request → OpenAI chat request", () => {
  it("keeps the text of a system given as a list of blocks (W7)", () => {
    const req = Either.getOrThrow(
      AnthropicRequest.decodeRequest({
        model: "m",
        max_tokens: 10,
        system: [
          { type: "text", text: "You are terse.", cache_control: { type: "ephemeral" } },
          { type: "text", text: "Answer in French." },
        ],
        messages: [{ role: "user", content: "hi" }],
      }),
    )
    const body = ChatRequest.encodeRequest(req, "gpt-4o", { stream: false })
    expect(body.messages).toEqual([
      {
        role: "system",
        content: [
          { type: "text", text: "You are terse." },
          { type: "text", text: "Answer in French." },
        ],
      },
      { role: "user", content: "hi" },
    ])
    expect(JSON.stringify(body)).not.toContain("{'type'")
  })

  it("maps tool_use / tool_result (with is_error) to tool_calls and tool messages", () => {
    const req = Either.getOrThrow(
      AnthropicRequest.decodeRequest({
        model: "m",
        max_tokens: 10,
        messages: [
          { role: "user", content: "go" },
          {
            role: "assistant",
            content: [
              { type: "text", text: "Calling." },
              { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } },
            ],
          },
          {
            role: "user",
            content: [
              {
                type: "tool_result",
                tool_use_id: "toolu_1",
                content: [{ type: "text", text: "boom" }],
                is_error: true,
              },
              { type: "text", text: "and?" },
            ],
          },
        ],
        tools: [{ name: "f", input_schema: { type: "object" } }],
        tool_choice: { type: "tool", name: "f" },
        stop_sequences: ["x"],
      }),
    )
    const body = ChatRequest.encodeRequest(req, "gpt-4o", { stream: true })
    expect(body.messages).toEqual([
      { role: "user", content: "go" },
      {
        role: "assistant",
        content: "Calling.",
        tool_calls: [{ id: "toolu_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
      },
      { role: "tool", tool_call_id: "toolu_1", content: "boom" },
      { role: "user", content: "and?" },
    ])
    expect(body.tool_choice).toEqual({ type: "function", function: { name: "f" } })
    expect(body.stop).toEqual(["x"])
    expect(body.stream_options).toEqual({ include_usage: true })
  })

  it("decodes legacy max_tokens_to_sample / prompt bodies", () => {
    const req = Either.getOrThrow(
      AnthropicRequest.decodeRequest({
        model: "m",
        max_tokens_to_sample: 5,
        prompt: "\n\nHuman: Hi there\n\nAssistant:",
      }),
    )
    expect(req.maxTokens).toBe(5)
    expect(req.messages).toEqual([{ role: "user", content: [{ type: "text", text: "Hi there" }] }])
  })
})

describe("responses (non-streaming)", () => {
  it("Anthropic message → OpenAI chat completion: tool calls, finish reason and usage names (W8)", () => {
    const resp = AnthropicResponse.decodeResponse({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "claude",
      content: [
        { type: "text", text: "Let me check." },
        { type: "tool_use", id: "toolu_9", name: "weather", input: { city: "Paris" } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 90, cache_creation_input_tokens: 0 },
    })
    const chat = ChatResponse.encodeResponse(resp, ctx("my-model"))
    expect(chat).toMatchObject({
      object: "chat.completion",
      model: "my-model",
      choices: [
        {
          index: 0,
          logprobs: null,
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            content: "Let me check.",
            refusal: null,
            tool_calls: [
              { id: "toolu_9", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
            ],
          },
        },
      ],
      usage: {
        prompt_tokens: 100,
        completion_tokens: 5,
        total_tokens: 105,
        prompt_tokens_details: { cached_tokens: 90 },
      },
    })
    expect(String(chat.id)).toMatch(/^chatcmpl-/)
  })

  it("OpenAI chat completion → Anthropic message: stop↔end_turn, length↔max_tokens, usage renamed", () => {
    const resp = ChatResponse.decodeResponse({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "length" }],
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, prompt_tokens_details: { cached_tokens: 2 } },
    })
    expect(AnthropicResponse.encodeResponse(resp, ctx("claude-x"))).toEqual({
      id: "msg_0001",
      type: "message",
      role: "assistant",
      model: "claude-x",
      content: [{ type: "text", text: "Hi" }],
      stop_reason: "max_tokens",
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 2 },
    })
  })
})

const anthropicToolStream = anthropicSse([
  [
    "message_start",
    {
      type: "message_start",
      message: {
        id: "msg_a",
        type: "message",
        role: "assistant",
        model: "claude",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 20, output_tokens: 1, cache_read_input_tokens: 5 },
      },
    },
  ],
  ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }],
  ["ping", { type: "ping" }],
  ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Checking" } }],
  ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " now." } }],
  ["content_block_stop", { type: "content_block_stop", index: 0 }],
  [
    "content_block_start",
    {
      type: "content_block_start",
      index: 1,
      content_block: { type: "tool_use", id: "toolu_1", name: "weather", input: {} },
    },
  ],
  [
    "content_block_delta",
    { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"city":' } },
  ],
  [
    "content_block_delta",
    { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '"Paris"}' } },
  ],
  ["content_block_stop", { type: "content_block_stop", index: 1 }],
  [
    "content_block_start",
    {
      type: "content_block_start",
      index: 2,
      content_block: { type: "tool_use", id: "toolu_2", name: "time", input: {} },
    },
  ],
  [
    "content_block_delta",
    { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: "{}" } },
  ],
  ["content_block_stop", { type: "content_block_stop", index: 2 }],
  [
    "message_delta",
    { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 42 } },
  ],
  ["message_stop", { type: "message_stop" }],
])

const transcode = (
  events: ReadonlyArray<{ event?: string; data: string }>,
  decoder: { push: (e: any) => ReadonlyArray<StreamEvent>; finish: () => ReadonlyArray<StreamEvent> },
  encoder: { push: (e: StreamEvent) => ReadonlyArray<string>; finish: () => ReadonlyArray<string> },
): Array<string> => {
  const out: Array<string> = []
  for (const e of events) for (const c of decoder.push(e)) out.push(...encoder.push(c))
  for (const c of decoder.finish()) out.push(...encoder.push(c))
  out.push(...encoder.finish())
  return out
}

describe("Anthropic stream → OpenAI chat stream", () => {
  it("streams text, then parallel tool calls with stable indexes and ids, then finish and usage", () => {
    const req = decodeChat({ ...toolBody })
    const frames = transcode(
      anthropicToolStream,
      AnthropicStream.makeDecoder(sequentialIds()),
      ChatStream.makeEncoder(ctx("gpt-alias", { request: req })),
    )
    const events = parseFrames(frames)
    expect(events[events.length - 1]!.data).toBe("[DONE]")
    const chunks = jsonData(frames)
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1)
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "", refusal: null })
    const text = chunks.flatMap((c) => c.choices.map((ch: any) => ch.delta.content ?? "")).join("")
    expect(text).toBe("Checking now.")
    const toolDeltas = chunks.flatMap((c) => c.choices.flatMap((ch: any) => ch.delta.tool_calls ?? []))
    expect(toolDeltas).toEqual([
      { index: 0, id: "toolu_1", type: "function", function: { name: "weather", arguments: "" } },
      { index: 0, function: { arguments: '{"city":' } },
      { index: 0, function: { arguments: '"Paris"}' } },
      { index: 1, id: "toolu_2", type: "function", function: { name: "time", arguments: "" } },
      { index: 1, function: { arguments: "{}" } },
    ])
    const finish = chunks.flatMap((c) => c.choices.map((ch: any) => ch.finish_reason)).filter((f) => f !== null)
    expect(finish).toEqual(["tool_calls"])
    const usageChunk = chunks[chunks.length - 1]
    expect(usageChunk.choices).toEqual([])
    expect(usageChunk.usage).toMatchObject({
      prompt_tokens: 25,
      completion_tokens: 42,
      total_tokens: 67,
      prompt_tokens_details: { cached_tokens: 5 },
    })
  })

  it("omits the usage chunk when the client did not ask for it", () => {
    const req = decodeChat({ ...toolBody, stream_options: undefined })
    const chunks = jsonData(
      transcode(
        anthropicToolStream,
        AnthropicStream.makeDecoder(sequentialIds()),
        ChatStream.makeEncoder(ctx("m", { request: req })),
      ),
    )
    expect(chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true)
  })

  it("an Anthropic error event becomes an in-band OpenAI error frame without [DONE]", () => {
    const events = [
      anthropicToolStream[0]!,
      anthropicToolStream[1]!,
      {
        event: "error",
        data: JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
      },
    ]
    const frames = transcode(events, AnthropicStream.makeDecoder(sequentialIds()), ChatStream.makeEncoder(ctx()))
    const evs = parseFrames(frames)
    expect(evs.some((e) => e.data === "[DONE]")).toBe(false)
    expect(JSON.parse(evs[evs.length - 1]!.data)).toEqual({
      error: { message: "Overloaded", type: "server_error", param: null, code: null },
    })
  })

  it("a stream cut before message_stop ends with an error, never with success", () => {
    const frames = transcode(
      anthropicToolStream.slice(0, 5),
      AnthropicStream.makeDecoder(sequentialIds()),
      ChatStream.makeEncoder(ctx()),
    )
    const evs = parseFrames(frames)
    expect(evs.some((e) => e.data === "[DONE]")).toBe(false)
    expect(JSON.parse(evs[evs.length - 1]!.data).error.code).toBe("upstream_truncated")
  })
})

const chatToolStream = dataSse([
  {
    id: "chatcmpl-9",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt",
    choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
  },
  {
    id: "chatcmpl-9",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt",
    choices: [{ index: 0, delta: { content: "Hel" }, finish_reason: null }],
  },
  {
    id: "chatcmpl-9",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt",
    choices: [{ index: 0, delta: { content: "lo" }, finish_reason: null }],
  },
  {
    id: "chatcmpl-9",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt",
    choices: [
      {
        index: 0,
        delta: { tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "" } }] },
        finish_reason: null,
      },
    ],
  },
  {
    id: "chatcmpl-9",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt",
    choices: [
      { index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"x":1}' } }] }, finish_reason: null },
    ],
  },
  {
    id: "chatcmpl-9",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt",
    choices: [
      {
        index: 0,
        delta: { tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "g", arguments: "{}" } }] },
        finish_reason: null,
      },
    ],
  },
  {
    id: "chatcmpl-9",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt",
    choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }],
  },
  {
    id: "chatcmpl-9",
    object: "chat.completion.chunk",
    created: 1,
    model: "gpt",
    choices: [],
    usage: { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37, prompt_tokens_details: { cached_tokens: 10 } },
  },
  "[DONE]",
])

describe("OpenAI chat stream → Anthropic stream", () => {
  it("follows the exact Anthropic event grammar with tool_use blocks and merged usage", () => {
    const frames = transcode(
      chatToolStream,
      ChatStream.makeDecoder(sequentialIds()),
      AnthropicStream.makeEncoder(ctx("claude-alias")),
    )
    const evs = parseFrames(frames)
    for (const e of evs) expect(JSON.parse(e.data).type).toBe(e.event)
    expect(evs.map((e) => e.event)).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ])
    const data = evs.map((e) => JSON.parse(e.data))
    expect(data[0].message).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-alias",
      content: [],
      stop_reason: null,
      stop_sequence: null,
    })
    expect(data[6].content_block).toEqual({ type: "tool_use", id: "call_a", name: "f", input: {} })
    expect(data[7]).toEqual({
      type: "content_block_delta",
      index: 1,
      delta: { type: "input_json_delta", partial_json: '{"x":1}' },
    })
    expect(data[9].content_block).toMatchObject({ id: "call_b", name: "g" })
    expect(data[12]).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { input_tokens: 20, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 10 },
    })
  })

  it("interleaved argument deltas of parallel tool calls become whole, ordered tool_use blocks", () => {
    const chunk = (delta: object, finish: string | null = null) => ({
      id: "chatcmpl-7",
      object: "chat.completion.chunk",
      created: 1,
      model: "gpt",
      choices: [{ index: 0, delta, finish_reason: finish }],
    })
    const call = (index: number, args: string, head?: { id: string; name: string }) => ({
      tool_calls: [
        {
          index,
          ...(head ? { id: head.id, type: "function" } : {}),
          function: { ...(head ? { name: head.name } : {}), arguments: args },
        },
      ],
    })
    const stream = dataSse([
      chunk({ role: "assistant", content: null }),
      chunk(call(0, '{"ci', { id: "call_a", name: "weather" })),
      chunk(call(1, '{"q":', { id: "call_b", name: "search" })),
      chunk(call(0, 'ty":"Paris"}')),
      chunk(call(2, "{}", { id: "call_c", name: "clock" })),
      chunk(call(1, '"tides"}')),
      chunk({}, "tool_calls"),
      "[DONE]",
    ])
    const evs = parseFrames(
      transcode(stream, ChatStream.makeDecoder(sequentialIds()), AnthropicStream.makeEncoder(ctx())),
    )
    const data = evs.map((e) => JSON.parse(e.data))
    expect(evs.map((e) => e.event).filter((e) => e !== "ping")).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ])
    // Each block's deltas put together give that call's whole arguments, blocks in call order.
    const blocks = data
      .filter((d) => d.type === "content_block_start")
      .map((d) => ({ index: d.index, ...d.content_block, args: "" }))
    for (const d of data) if (d.type === "content_block_delta") blocks[d.index].args += d.delta.partial_json
    expect(blocks.map((b) => [b.index, b.id, b.name, JSON.parse(b.args)])).toEqual([
      [0, "call_a", "weather", { city: "Paris" }],
      [1, "call_b", "search", { q: "tides" }],
      [2, "call_c", "clock", {}],
    ])
    expect(data.find((d) => d.type === "message_delta").delta.stop_reason).toBe("tool_use")
  })

  it("a tool call that continues after text has closed it ends the stream with an error, never a wrong answer", () => {
    const chunk = (delta: object) => ({
      id: "c",
      object: "chat.completion.chunk",
      created: 1,
      model: "gpt",
      choices: [{ index: 0, delta, finish_reason: null }],
    })
    const stream = dataSse([
      chunk({
        tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: '{"a":' } }],
      }),
      chunk({ content: "text in between" }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
    ])
    const evs = parseFrames(
      transcode(stream, ChatStream.makeDecoder(sequentialIds()), AnthropicStream.makeEncoder(ctx())),
    )
    expect(evs[evs.length - 1]!.event).toBe("error")
    expect(evs.some((e) => e.event === "message_stop")).toBe(false)
  })

  it("a malformed upstream frame yields event: error, never a throw", () => {
    const frames = transcode(
      [chatToolStream[1]!, { data: "{not json" }],
      ChatStream.makeDecoder(sequentialIds()),
      AnthropicStream.makeEncoder(ctx()),
    )
    const evs = parseFrames(frames)
    expect(evs[evs.length - 1]!.event).toBe("error")
    expect(JSON.parse(evs[evs.length - 1]!.data)).toMatchObject({ type: "error", error: { type: "api_error" } })
  })
})

describe("OpenAI passthrough (W2 and usage stripping)", () => {
  it("forwards OpenAI-format chunks for a gemini-* model intact (W2)", () => {
    const filter = ChatStream.makePassthroughFilter(true)
    const chunk = {
      id: "c",
      object: "chat.completion.chunk",
      created: 1,
      model: "gemini-2.0-flash",
      choices: [{ index: 0, delta: { content: "hi" }, finish_reason: null }],
    }
    const data = JSON.stringify(chunk)
    expect(filter({ data }).frame).toBe(`data: ${data}\n\n`)
    const decoded = ChatStream.makeDecoder(sequentialIds()).push({ data })
    expect(decoded.filter((e) => e.type === "text_delta")).toEqual([{ type: "text_delta", index: 0, text: "hi" }])
  })

  it("drops the usage-only chunk the gateway requested but reports it for metering", () => {
    const filter = ChatStream.makePassthroughFilter(false)
    const r = filter({
      data: JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        choices: [],
        usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      }),
    })
    expect(r.frame).toBe("")
    expect(r.usage).toEqual({ inputTokens: 1, outputTokens: 2 })
    expect(filter({ data: "[DONE]" }).frame).toBe("data: [DONE]\n\n")
  })
})
