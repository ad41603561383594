import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { codecs } from "../../../src/protocol/Dialect.js"
import { detectChatBody, wantsStream } from "../../../src/protocol/detect.js"
import { decodeErrorBody } from "../../../src/protocol/Errors.js"
import { makeTranscoder } from "../../../src/protocol/Transcoder.js"
import { ctx, dataSse, jsonData, parseFrames } from "./Frames.js"

const decode = (d: keyof typeof codecs, body: unknown, hints?: { model?: string; stream?: boolean }) =>
  Either.getOrThrow(codecs[d].decodeRequest(body, hints))

describe("chat-route detection", () => {
  it("detects Claude-style, Gemini-style, input-style and OpenAI bodies", () => {
    expect(detectChatBody({ model: "m", messages: [] })).toBe("openai-chat")
    expect(detectChatBody({ model: "m", anthropic_version: "bedrock-2023-05-31", messages: [] })).toBe("anthropic")
    expect(detectChatBody({ model: "m", max_tokens_to_sample: 5, prompt: "x" })).toBe("anthropic")
    expect(detectChatBody({ model: "m", system: [{ type: "text", text: "x" }], messages: [] })).toBe("anthropic")
    expect(detectChatBody({ model: "m", system: "plain", messages: [] })).toBe("openai-chat")
    expect(detectChatBody({ model: "m", contents: [{ role: "user", parts: [{ text: "hi" }] }] })).toBe("gemini")
    expect(detectChatBody({ model: "gemini-pro", input: [{ role: "user", content: "hi" }] })).toBe("openai-responses")
  })

  it("decides streaming: explicit false wins, else stream:true or Accept: text/event-stream", () => {
    expect(wantsStream({ stream: false }, "text/event-stream")).toBe(false)
    expect(wantsStream({ stream: true }, undefined)).toBe(true)
    expect(wantsStream({}, "Text/Event-Stream")).toBe(true)
    expect(wantsStream({}, "application/json")).toBe(false)
  })

  it("decodes a Gemini-style `input` body (seed §6.2) into messages", () => {
    const req = decode("openai-responses", {
      model: "gemini-pro",
      input: [{ role: "user", content: [{ text: "a" }, { text: "b" }] }, { content: "c" }],
    })
    expect(req.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "a" },
          { type: "text", text: "b" },
        ],
      },
      { role: "user", content: [{ type: "text", text: "c" }] },
    ])
  })
})

describe("Gemini", () => {
  it("OpenAI chat request → generateContent body and streaming path, tool results named by their call", () => {
    const req = decode("openai-chat", {
      model: "gemini-2.5-flash",
      messages: [
        { role: "system", content: "Sys" },
        {
          role: "user",
          content: [
            { type: "text", text: "Hi" },
            { type: "image_url", image_url: { url: "data:image/jpeg;base64,QUJD" } },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_7", type: "function", function: { name: "lookup", arguments: '{"q":"x"}' } }],
        },
        { role: "tool", tool_call_id: "call_7", content: '{"hits":3}' },
      ],
      tools: [
        {
          type: "function",
          function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } },
        },
      ],
      tool_choice: { type: "function", function: { name: "lookup" } },
      max_tokens: 50,
      stop: ["##"],
      response_format: { type: "json_object" },
    })
    const enc = codecs.gemini.encodeRequest(req, "gemini-2.5-flash", { stream: true })
    expect(enc.path).toBe("models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    expect(enc.body).toEqual({
      contents: [
        { role: "user", parts: [{ text: "Hi" }, { inlineData: { mimeType: "image/jpeg", data: "QUJD" } }] },
        { role: "model", parts: [{ functionCall: { name: "lookup", args: { q: "x" } } }] },
        { role: "user", parts: [{ functionResponse: { name: "lookup", response: { hits: 3 } } }] },
      ],
      systemInstruction: { parts: [{ text: "Sys" }] },
      tools: [
        {
          functionDeclarations: [
            { name: "lookup", parametersJsonSchema: { type: "object", properties: { q: { type: "string" } } } },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["lookup"] } },
      generationConfig: { maxOutputTokens: 50, stopSequences: ["##"], responseMimeType: "application/json" },
    })
    expect(codecs.gemini.encodeRequest(req, "g", { stream: false }).path).toBe("models/g:generateContent")
  })

  it("decodes a native Gemini request (model from the URL), keeping unknown fields for Gemini only", () => {
    const body = {
      contents: [{ role: "user", parts: [{ text: "Hi" }] }],
      systemInstruction: { parts: [{ text: "A" }, { text: "B" }] },
      safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
      generationConfig: { temperature: 0.1, maxOutputTokens: 9 },
    }
    const req = decode("gemini", body, { model: "gemini-2.0-flash", stream: true })
    expect(req).toMatchObject({
      model: "gemini-2.0-flash",
      stream: true,
      maxTokens: 9,
      temperature: 0.1,
      system: [
        { type: "text", text: "A" },
        { type: "text", text: "B" },
      ],
    })
    expect(codecs.gemini.encodeRequest(req, "x", { stream: true }).body.safetySettings).toEqual(body.safetySettings)
    expect(codecs.anthropic.encodeRequest(req, "x", { stream: true }).body.safetySettings).toBeUndefined()
  })

  it("Gemini response → chat completion: MAX_TOKENS → length, thoughts counted as output (W8)", () => {
    const resp = codecs.gemini.decodeResponse({
      candidates: [
        {
          content: { role: "model", parts: [{ text: "thinking…", thought: true }, { text: "Answer" }] },
          finishReason: "MAX_TOKENS",
          index: 0,
        },
      ],
      usageMetadata: {
        promptTokenCount: 10,
        candidatesTokenCount: 5,
        thoughtsTokenCount: 7,
        totalTokenCount: 22,
        cachedContentTokenCount: 4,
      },
      modelVersion: "gemini-2.5-pro",
      responseId: "abc",
    })
    const chat = codecs["openai-chat"].encodeResponse(resp, ctx("gemini-2.5-pro"))
    expect(chat).toMatchObject({
      choices: [{ finish_reason: "length", message: { content: "Answer", reasoning_content: "thinking…" } }],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 12,
        total_tokens: 22,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 7 },
      },
    })
  })

  it("Gemini function calls → tool_calls finish reason (STOP with a call is tool use)", () => {
    const resp = codecs.gemini.decodeResponse({
      candidates: [
        { content: { role: "model", parts: [{ functionCall: { name: "f", args: { a: 1 } } }] }, finishReason: "STOP" },
      ],
    })
    expect(codecs.anthropic.encodeResponse(resp, ctx()).stop_reason).toBe("tool_use")
    expect((codecs["openai-chat"].encodeResponse(resp, ctx()) as any).choices[0].finish_reason).toBe("tool_calls")
  })

  it("Gemini stream → OpenAI chat stream: text deltas, whole function calls, finish and usage", () => {
    const frames = dataSse([
      {
        candidates: [{ content: { role: "model", parts: [{ text: "Hel" }] }, index: 0 }],
        modelVersion: "gemini-2.0-flash",
        responseId: "r1",
      },
      {
        candidates: [{ content: { role: "model", parts: [{ text: "lo" }] }, index: 0 }],
        modelVersion: "gemini-2.0-flash",
        responseId: "r1",
      },
      {
        candidates: [
          {
            content: {
              role: "model",
              parts: [{ functionCall: { name: "a", args: { x: 1 } } }, { functionCall: { name: "b", args: {} } }],
            },
            finishReason: "STOP",
            index: 0,
          },
        ],
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 },
      },
    ])
    const req = decode("openai-chat", {
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
      stream_options: { include_usage: true },
    })
    const t = makeTranscoder("gemini", "openai-chat", ctx("gemini-2.0-flash", { request: req }))
    const out = [...frames.flatMap((f) => t.push(f)), ...t.finish()]
    const chunks = jsonData(out)
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("Hello")
    const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? [])
    expect(calls.filter((c: any) => c.id).map((c: any) => [c.index, c.function.name])).toEqual([
      [0, "a"],
      [1, "b"],
    ])
    expect(chunks.flatMap((c) => c.choices.map((x: any) => x.finish_reason)).filter(Boolean)).toEqual(["tool_calls"])
    expect(chunks[chunks.length - 1].usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 })
    expect(parseFrames(out).pop()!.data).toBe("[DONE]")
  })

  it("a Gemini stream that ends without finishReason is reported as truncated", () => {
    const t = makeTranscoder("gemini", "anthropic", ctx())
    const out = [
      ...t.push({ data: JSON.stringify({ candidates: [{ content: { parts: [{ text: "Hi" }] } }] }) }),
      ...t.finish(),
    ]
    // The in-band error is held apart (the gateway may continue the answer instead of sending it).
    expect(parseFrames(out).pop()!.event).not.toBe("error")
    expect(parseFrames(t.errorFrames).pop()!.event).toBe("error")
  })

  it("Gemini in-band errors and error bodies", () => {
    const t = makeTranscoder("openai-chat", "gemini", ctx())
    t.push({ data: JSON.stringify({ id: "c", choices: [{ index: 0, delta: { content: "x" } }] }) })
    expect(
      t.push({
        data: JSON.stringify({ error: { message: "quota", type: "rate_limit_error", code: "rate_limit_exceeded" } }),
      }),
    ).toEqual([])
    expect(JSON.parse(parseFrames(t.errorFrames)[0]!.data)).toEqual({
      error: { code: 429, message: "quota", status: "RESOURCE_EXHAUSTED" },
    })
  })
})

describe("OpenAI Responses", () => {
  it("decodes instructions, string/parts input, function calls and outputs", () => {
    const req = decode("openai-responses", {
      model: "gpt-4.1",
      instructions: "Be kind.",
      input: [
        {
          role: "user",
          content: [
            { type: "input_text", text: "Weather?" },
            { type: "input_image", image_url: "https://x/y.png" },
          ],
        },
        { type: "function_call", call_id: "call_1", name: "weather", arguments: '{"c":"P"}' },
        { type: "function_call_output", call_id: "call_1", output: "sunny" },
      ],
      tools: [{ type: "function", name: "weather", parameters: { type: "object" } }],
      max_output_tokens: 99,
      text: { format: { type: "json_schema", name: "w", schema: { type: "object" }, strict: true } },
      store: false,
    })
    expect(req.system).toEqual([{ type: "text", text: "Be kind." }])
    expect(req.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "Weather?" },
          { type: "image", source: { kind: "url", url: "https://x/y.png" } },
        ],
      },
      { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "weather", input: { c: "P" } }] },
      {
        role: "user",
        content: [
          { type: "tool_result", toolUseId: "call_1", content: [{ type: "text", text: "sunny" }], isError: false },
        ],
      },
    ])
    expect(req.extra).toEqual({ store: false })
    const chat = codecs["openai-chat"].encodeRequest(req, "gpt-4.1", { stream: true }).body
    expect(chat.messages).toEqual([
      { role: "system", content: "Be kind." },
      {
        role: "user",
        content: [
          { type: "text", text: "Weather?" },
          { type: "image_url", image_url: { url: "https://x/y.png" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"c":"P"}' } }],
      },
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
    ])
    expect(chat.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "w", schema: { type: "object" }, strict: true },
    })
    expect(chat.max_tokens).toBe(99)
    expect(chat.store).toBeUndefined()
  })

  it("chat upstream stream → Responses event set (golden order)", () => {
    const req = decode("openai-responses", { model: "gpt", input: "hi", stream: true })
    const t = makeTranscoder("openai-chat", "openai-responses", ctx("gpt", { request: req }))
    const up = dataSse([
      { id: "chatcmpl-1", choices: [{ index: 0, delta: { role: "assistant", content: "" } }] },
      { id: "chatcmpl-1", choices: [{ index: 0, delta: { content: "Hi" } }] },
      { id: "chatcmpl-1", choices: [{ index: 0, delta: { content: "!" }, finish_reason: "stop" }] },
      { id: "chatcmpl-1", choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } },
      "[DONE]",
    ])
    const evs = parseFrames([...up.flatMap((e) => t.push(e)), ...t.finish()])
    expect(evs.map((e) => e.event)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ])
    const last = JSON.parse(evs[evs.length - 1]!.data)
    expect(last.response).toMatchObject({
      id: "resp_0001",
      status: "completed",
      output: [
        {
          id: "msg_0002",
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "Hi!" }],
        },
      ],
      output_text: "Hi!",
      usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
    })
    expect(JSON.parse(evs[4]!.data)).toMatchObject({
      item_id: "msg_0002",
      output_index: 0,
      content_index: 0,
      delta: "Hi",
    })
  })

  it("Responses upstream stream (function call) → Anthropic client", () => {
    const up = [
      [
        "response.created",
        {
          type: "response.created",
          sequence_number: 0,
          response: { id: "resp_x", model: "gpt", status: "in_progress", output: [] },
        },
      ],
      [
        "response.output_item.added",
        {
          type: "response.output_item.added",
          output_index: 0,
          item: { id: "fc_1", type: "function_call", call_id: "call_9", name: "f", arguments: "" },
        },
      ],
      [
        "response.function_call_arguments.delta",
        { type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 0, delta: '{"a":' },
      ],
      [
        "response.function_call_arguments.delta",
        { type: "response.function_call_arguments.delta", item_id: "fc_1", output_index: 0, delta: "2}" },
      ],
      [
        "response.output_item.done",
        {
          type: "response.output_item.done",
          output_index: 0,
          item: { id: "fc_1", type: "function_call", call_id: "call_9", name: "f", arguments: '{"a":2}' },
        },
      ],
      [
        "response.completed",
        {
          type: "response.completed",
          response: {
            id: "resp_x",
            status: "completed",
            output: [],
            usage: {
              input_tokens: 8,
              output_tokens: 3,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens_details: { reasoning_tokens: 1 },
            },
          },
        },
      ],
    ] as const
    const t = makeTranscoder("openai-responses", "anthropic", ctx("claude"))
    const evs = parseFrames([...up.flatMap(([event, d]) => t.push({ event, data: JSON.stringify(d) })), ...t.finish()])
    const data = evs.map((e) => JSON.parse(e.data))
    expect(evs.map((e) => e.event)).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ])
    expect(data[1].content_block).toEqual({ type: "tool_use", id: "call_9", name: "f", input: {} })
    expect(data[6]).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { input_tokens: 8, output_tokens: 3 } })
  })

  it("interleaved parallel function calls reach an Anthropic client as whole, sequential tool_use blocks", () => {
    const added = (index: number, id: string, callId: string, name: string) =>
      [
        "response.output_item.added",
        {
          type: "response.output_item.added",
          output_index: index,
          item: { id, type: "function_call", call_id: callId, name, arguments: "" },
        },
      ] as const
    const delta = (index: number, id: string, text: string) =>
      [
        "response.function_call_arguments.delta",
        { type: "response.function_call_arguments.delta", item_id: id, output_index: index, delta: text },
      ] as const
    const done = (index: number, id: string, callId: string, name: string, args: string) =>
      [
        "response.output_item.done",
        {
          type: "response.output_item.done",
          output_index: index,
          item: { id, type: "function_call", call_id: callId, name, arguments: args },
        },
      ] as const
    const up = [
      [
        "response.created",
        { type: "response.created", response: { id: "resp_x", model: "gpt", status: "in_progress", output: [] } },
      ] as const,
      added(0, "fc_1", "call_1", "weather"),
      added(1, "fc_2", "call_2", "search"),
      delta(0, "fc_1", '{"city":'),
      delta(1, "fc_2", '{"q":'),
      delta(0, "fc_1", '"Paris"}'),
      delta(1, "fc_2", '"tides"}'),
      done(1, "fc_2", "call_2", "search", '{"q":"tides"}'),
      done(0, "fc_1", "call_1", "weather", '{"city":"Paris"}'),
      [
        "response.completed",
        {
          type: "response.completed",
          response: { id: "resp_x", status: "completed", output: [], usage: { input_tokens: 8, output_tokens: 3 } },
        },
      ] as const,
    ]
    const t = makeTranscoder("openai-responses", "anthropic", ctx("claude"))
    const evs = parseFrames([...up.flatMap(([event, d]) => t.push({ event, data: JSON.stringify(d) })), ...t.finish()])
    const data = evs.map((e) => JSON.parse(e.data))
    // One block open at a time: every start follows the previous block's stop.
    let open: number | undefined
    for (const d of data) {
      if (d.type === "content_block_start") {
        expect(open).toBeUndefined()
        open = d.index
      } else if (d.type === "content_block_delta") expect(d.index).toBe(open)
      else if (d.type === "content_block_stop") {
        expect(d.index).toBe(open)
        open = undefined
      }
    }
    const blocks = data
      .filter((d) => d.type === "content_block_start")
      .map((d) => ({ id: d.content_block.id, args: "" }))
    for (const d of data) if (d.type === "content_block_delta") blocks[d.index]!.args += d.delta.partial_json
    expect(blocks.map((b) => [b.id, JSON.parse(b.args)])).toEqual([
      ["call_1", { city: "Paris" }],
      ["call_2", { q: "tides" }],
    ])
    expect(evs[evs.length - 1]!.event).toBe("message_stop")
  })

  it("maps an upstream response.failed to an in-band chat error", () => {
    const t = makeTranscoder("openai-responses", "openai-chat", ctx())
    const out = [
      ...t.push({
        event: "response.created",
        data: JSON.stringify({ type: "response.created", response: { id: "r" } }),
      }),
      ...t.push({
        event: "response.failed",
        data: JSON.stringify({
          type: "response.failed",
          response: { id: "r", status: "failed", error: { code: "server_error", message: "boom" } },
        }),
      }),
    ]
    const evs = parseFrames([...out, ...t.errorFrames])
    expect(JSON.parse(evs[evs.length - 1]!.data)).toEqual({
      error: { message: "boom", type: "server_error", param: null, code: "server_error" },
    })
    expect(t.upstreamError?.message).toBe("boom")
  })
})

describe("upstream error bodies → ErrorInfo", () => {
  it("reads every dialect's shape and keeps the status", () => {
    expect(
      decodeErrorBody(429, { error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } }),
    ).toMatchObject({ kind: "rate_limit", status: 429, message: "slow down" })
    expect(
      decodeErrorBody(529, { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
    ).toMatchObject({ kind: "overloaded", status: 529 })
    expect(decodeErrorBody(400, { error: { code: 400, message: "bad", status: "INVALID_ARGUMENT" } })).toMatchObject({
      kind: "invalid_request",
      status: 400,
      message: "bad",
    })
    expect(decodeErrorBody(502, "<html>bad gateway</html>")).toMatchObject({ kind: "server", status: 502 })
  })
})
