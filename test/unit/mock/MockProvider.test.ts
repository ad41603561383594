import Anthropic from "@anthropic-ai/sdk"
import { GoogleGenAI, Type } from "@google/genai"
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { contextLengthExceeded, type MockProvider, startMockProvider } from "../../../src/mock/MockProvider.js"

let mock: MockProvider
let openai: OpenAI

beforeAll(async () => {
  mock = await startMockProvider({ models: ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"] })
  openai = new OpenAI({ apiKey: "sk-test", baseURL: `${mock.url}/v1`, maxRetries: 0 })
})
afterAll(() => mock.close())
beforeEach(() => mock.reset())

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
  },
}

describe("OpenAI chat completions", () => {
  it("answers JSON with the requested model, a deterministic text and usage", async () => {
    const r = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "ping" }],
    })
    expect(r.object).toBe("chat.completion")
    expect(r.id).toMatch(/^chatcmpl-/)
    expect(r.model).toBe("gpt-4o-mini")
    expect(r.choices[0]!.message).toMatchObject({ role: "assistant", content: "Hello from mock: ping", refusal: null })
    expect(r.choices[0]!.finish_reason).toBe("stop")
    expect(r.choices[0]!.logprobs).toBeNull()
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens)
  })

  it("streams a role chunk, content deltas, a finish chunk, the usage chunk and [DONE]", async () => {
    mock.script({ chunks: ["Hel", "lo", " world"], usage: { inputTokens: 7, outputTokens: 3 } })
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks = []
    for await (const c of stream) chunks.push(c)
    expect(chunks[0]!.choices[0]!.delta).toMatchObject({ role: "assistant", content: "" })
    expect(chunks.slice(1, 4).map((c) => c.choices[0]!.delta.content)).toEqual(["Hel", "lo", " world"])
    expect(chunks[4]!.choices[0]!.finish_reason).toBe("stop")
    expect(chunks[5]!.choices).toEqual([])
    expect(chunks[5]!.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 })
    expect(chunks).toHaveLength(6)
  })

  it("omits the usage chunk without include_usage and splits the default answer in chunkCount pieces", async () => {
    mock.script({ chunkCount: 2 })
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "one two three four" }],
      stream: true,
    })
    const chunks = []
    for await (const c of stream) chunks.push(c)
    const deltas = chunks.map((c) => c.choices[0]?.delta.content).filter((d) => d)
    expect(deltas).toHaveLength(2)
    expect(deltas.join("")).toBe("Hello from mock: one two three four")
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true)
  })

  it("works with the chat.completions.stream() helper", async () => {
    const stream = openai.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "stream me" }],
      stream_options: { include_usage: true },
    })
    const final = await stream.finalChatCompletion()
    expect(final.choices[0]!.message.content).toBe("Hello from mock: stream me")
    expect(final.usage?.total_tokens).toBeGreaterThan(0)
  })

  it("answers a weather question with a tool call when tools are offered", async () => {
    const r = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [weatherTool],
    })
    expect(r.choices[0]!.finish_reason).toBe("tool_calls")
    const call = r.choices[0]!.message.tool_calls![0]!
    expect(call.type).toBe("function")
    if (call.type !== "function") throw new Error("expected a function call")
    expect(call.function.name).toBe("get_weather")
    expect(JSON.parse(call.function.arguments)).toEqual({ location: "Paris" })

    // After the tool result, it answers with text.
    const r2 = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [
        { role: "user", content: "What is the weather in Paris?" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: "sunny" },
      ],
      tools: [weatherTool],
    })
    expect(r2.choices[0]!.finish_reason).toBe("stop")
  })

  it("streams parallel tool calls that the stream helper reassembles", async () => {
    mock.script({
      toolCalls: [
        { name: "get_weather", arguments: { location: "Paris" } },
        { name: "get_weather", arguments: { location: "Tokyo" } },
      ],
    })
    const stream = openai.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Weather in Paris and Tokyo?" }],
      tools: [weatherTool],
    })
    const final = await stream.finalChatCompletion()
    const calls = final.choices[0]!.message.tool_calls!
    expect(final.choices[0]!.finish_reason).toBe("tool_calls")
    expect(calls.map((c) => (c.type === "function" ? JSON.parse(c.function.arguments) : null))).toEqual([
      { location: "Paris" },
      { location: "Tokyo" },
    ])
    expect(new Set(calls.map((c) => c.id)).size).toBe(2)
  })

  it("lists models", async () => {
    const page = await openai.models.list()
    expect(page.data.map((m) => m.id)).toEqual(["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"])
    expect(page.data[0]).toMatchObject({ object: "model", owned_by: "openai" })
  })

  it("raises an APIError with the scripted status", async () => {
    mock.script({ status: 503 })
    const err = await openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.APIError)
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503)
  })

  it("sends a context_length_exceeded body and Retry-After headers as scripted", async () => {
    mock.script(contextLengthExceeded(), { status: 429, headers: { "retry-after": "2" } })
    const e1 = (await openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
    expect(e1.status).toBe(400)
    expect(e1.code).toBe("context_length_exceeded")
    const e2 = (await openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>
    expect(e2.status).toBe(429)
    expect(e2.headers?.get("retry-after")).toBe("2")
  })
})

describe("OpenAI Responses", () => {
  it("answers a response object with a message item and usage", async () => {
    const r = await openai.responses.create({ model: "gpt-4o-mini", input: "ping" })
    expect(r.id).toMatch(/^resp_/)
    expect(r.object).toBe("response")
    expect(r.status).toBe("completed")
    expect(r.model).toBe("gpt-4o-mini")
    expect(r.output[0]).toMatchObject({ type: "message", role: "assistant", id: expect.stringMatching(/^msg_/) })
    expect(r.output_text).toBe("Hello from mock: ping")
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens)
  })

  it("streams the full event sequence with increasing sequence numbers", async () => {
    mock.script({ chunks: ["a", "b", "c"] })
    const stream = await openai.responses.create({
      model: "gpt-4o-mini",
      input: [{ role: "user", content: "x" }],
      stream: true,
    })
    const events = []
    for await (const e of stream) events.push(e)
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ])
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
  })

  it("works with the responses.stream() helper", async () => {
    const stream = openai.responses.stream({ model: "gpt-4o-mini", input: "stream me" })
    const deltas: Array<string> = []
    stream.on("response.output_text.delta", (e) => deltas.push(e.delta))
    const final = await stream.finalResponse()
    expect(final.output_text).toBe("Hello from mock: stream me")
    expect(deltas.join("")).toBe("Hello from mock: stream me")
    expect(final.usage?.output_tokens).toBeGreaterThan(0)
  })

  it("streams a reasoning summary item before the message when thinking is scripted", async () => {
    mock.script({ thinking: "Considering.", text: "Done." })
    const final = await openai.responses.stream({ model: "gpt-4o-mini", input: "think" }).finalResponse()
    expect(final.output[0]).toMatchObject({
      type: "reasoning",
      summary: [{ type: "summary_text", text: "Considering." }],
    })
    expect(final.output_text).toBe("Done.")
    expect(final.usage?.output_tokens_details.reasoning_tokens).toBeGreaterThan(0)
  })

  it("streams function calls", async () => {
    const stream = openai.responses.stream({
      model: "gpt-4o-mini",
      input: "weather in Paris?",
      tools: [{ type: "function", name: "get_weather", parameters: { type: "object" }, strict: false }],
    })
    const final = await stream.finalResponse()
    const call = final.output.find((o) => o.type === "function_call")
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", call_id: expect.stringMatching(/^call_/) })
    if (call?.type !== "function_call") throw new Error("expected a function call")
    expect(JSON.parse(call.arguments)).toEqual({ location: "Paris" })
  })
})

describe("Anthropic Messages", () => {
  let anthropic: Anthropic
  beforeAll(() => {
    anthropic = new Anthropic({ apiKey: "sk-ant-test", baseURL: mock.url, maxRetries: 0 })
  })

  it("answers a message and records the auth headers", async () => {
    const m = await anthropic.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 100,
      messages: [{ role: "user", content: "ping" }],
    })
    expect(m).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-haiku-4-5",
      stop_reason: "end_turn",
      stop_sequence: null,
      content: [{ type: "text", text: "Hello from mock: ping" }],
    })
    expect(m.id).toMatch(/^msg_/)
    expect(m.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 })
    // SDK 1.14 sends the key as `Authorization: Bearer`; older ones and raw clients send `x-api-key`.
    const h = mock.received[0]!.headers
    expect(h["x-api-key"] ?? h.authorization).toMatch(/sk-ant-test$/)
    expect(mock.received[0]!.headers["anthropic-version"]).toBeDefined()
    expect(mock.received[0]!.dialect).toBe("anthropic")
  })

  it("streams with the exact event grammar and messages.stream() assembles it", async () => {
    mock.script({ chunks: ["Hel", "lo"], usage: { inputTokens: 5, outputTokens: 2 } })
    const stream = anthropic.messages.stream({
      model: "claude-haiku-4-5",
      max_tokens: 100,
      messages: [{ role: "user", content: "hi" }],
    })
    const types: Array<string> = []
    stream.on("streamEvent", (e) => types.push(e.type))
    const final = await stream.finalMessage()
    expect(final.content).toEqual([{ type: "text", text: "Hello" }])
    expect(final.stop_reason).toBe("end_turn")
    expect(final.usage).toMatchObject({ input_tokens: 5, output_tokens: 2 })
    expect(types).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ])
  })

  it("streams thinking, then a tool_use block with input_json_delta", async () => {
    mock.script({ thinking: "Let me check." })
    const stream = anthropic.messages.stream({
      model: "claude-haiku-4-5",
      max_tokens: 100,
      messages: [{ role: "user", content: "What's the weather in Paris?" }],
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { location: { type: "string" } } } }],
    })
    const final = await stream.finalMessage()
    expect(final.stop_reason).toBe("tool_use")
    expect(final.content[0]).toMatchObject({ type: "thinking", thinking: "Let me check." })
    expect(final.content[1]).toMatchObject({ type: "tool_use", name: "get_weather", input: { location: "Paris" } })
  })

  it("raises overloaded_error with status 529", async () => {
    mock.script({ status: 529 })
    const err = (await anthropic.messages
      .create({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>
    expect(err).toBeInstanceOf(Anthropic.APIError)
    expect(err.status).toBe(529)
    expect(err.error).toEqual({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })
  })

  it("lists models in the Anthropic shape when anthropic-version is sent", async () => {
    const page = await anthropic.models.list()
    expect(page.data.map((m) => m.id)).toEqual(["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash"])
    expect(page.data[1]).toMatchObject({ type: "model", display_name: "Claude Haiku 4 5" })
  })
})

describe("Gemini generateContent", () => {
  let genai: GoogleGenAI
  beforeAll(() => {
    genai = new GoogleGenAI({ apiKey: "gm-test", httpOptions: { baseUrl: mock.url } })
  })

  it("answers generateContent with candidates and usageMetadata", async () => {
    const r = await genai.models.generateContent({ model: "gemini-2.5-flash", contents: "ping" })
    expect(r.text).toBe("Hello from mock: ping")
    expect(r.candidates![0]).toMatchObject({ finishReason: "STOP", index: 0, content: { role: "model" } })
    expect(r.usageMetadata!.totalTokenCount).toBe(
      r.usageMetadata!.promptTokenCount! + r.usageMetadata!.candidatesTokenCount!,
    )
    expect(r.modelVersion).toBe("gemini-2.5-flash")
    const rec = mock.received[0]!
    expect(rec.path).toBe("/v1beta/models/gemini-2.5-flash:generateContent")
    expect(rec.model).toBe("gemini-2.5-flash")
    expect(rec.headers["x-goog-api-key"]).toBe("gm-test")
  })

  it("streams partial responses, the last with finishReason and usage", async () => {
    mock.script({ chunks: ["a", "b", "c"], usage: { inputTokens: 4, outputTokens: 3 } })
    const stream = await genai.models.generateContentStream({ model: "gemini-2.5-flash", contents: "x" })
    const parts = []
    for await (const c of stream) parts.push(c)
    expect(parts.map((p) => p.text)).toEqual(["a", "b", "c"])
    expect(parts[2]!.candidates![0]!.finishReason).toBe("STOP")
    expect(parts[0]!.candidates![0]!.finishReason).toBeUndefined()
    expect(parts[2]!.usageMetadata).toMatchObject({ promptTokenCount: 4, candidatesTokenCount: 3, totalTokenCount: 7 })
    expect(mock.received[0]!.url).toContain("alt=sse")
  })

  it("answers with a function call when tools are given and the prompt mentions weather", async () => {
    const r = await genai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "What's the weather in Paris?",
      config: {
        tools: [
          {
            functionDeclarations: [
              {
                name: "get_weather",
                parameters: { type: Type.OBJECT, properties: { location: { type: Type.STRING } } },
              },
            ],
          },
        ],
      },
    })
    expect(r.functionCalls).toEqual([{ name: "get_weather", args: { location: "Paris" } }])
  })

  it("returns Gemini-shaped errors and lists models", async () => {
    mock.script({ status: 429 })
    const err = (await genai.models
      .generateContent({ model: "gemini-2.5-flash", contents: "x" })
      .catch((e: unknown) => e)) as { status?: number; message: string }
    expect(err.status).toBe(429)
    expect(err.message).toContain("RESOURCE_EXHAUSTED")
    const pager = await genai.models.list()
    const names = []
    for await (const m of pager) names.push(m.name)
    expect(names).toEqual(["models/gpt-4o-mini", "models/claude-haiku-4-5", "models/gemini-2.5-flash"])
  })
})

const chatBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello there" }], ...extra })

const post = (path: string, body: string, init: RequestInit = {}) =>
  fetch(`${mock.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body, ...init })

describe("faults and recording", () => {
  it("records method, path, headers, parsed body and model in arrival order", async () => {
    await post("/v1/chat/completions", chatBody(), { headers: { "content-type": "application/json", "x-trace": "t1" } })
    await post("/v1/chat/completions", "not json at all")
    expect(mock.count).toBe(2)
    const [a, b] = mock.received
    expect(a).toMatchObject({ method: "POST", path: "/v1/chat/completions", model: "gpt-4o-mini", finished: true })
    expect(a!.headers["x-trace"]).toBe("t1")
    expect(a!.body).toMatchObject({ messages: [{ role: "user", content: "hello there" }] })
    expect(b!.body).toBe("not json at all")
    expect(b!.at).toBeGreaterThanOrEqual(a!.at)
  })

  it("reset destroys the socket before headers: the SDK sees a connection error", async () => {
    mock.script({ reset: true })
    const err = await openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.APIConnectionError)
    expect(mock.received[0]!.aborted).toBe(false)
  })

  it("cutAfterChunks truncates the stream: the SDK gets some chunks then an error, never [DONE]", async () => {
    mock.script({ cutAfterChunks: 2, chunks: ["a", "b", "c"] })
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    })
    const seen: Array<string> = []
    const err = await (async () => {
      for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? "")
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect(seen).toEqual(["", "a"])
    expect(mock.received[0]!.aborted).toBe(false)
  })

  it("malformedAfterChunks, omitDone and errorAfterChunks shape the raw SSE", async () => {
    mock.script({ malformedAfterChunks: 1 }, { omitDone: true }, { errorAfterChunks: 2 })
    const malformed = await (await post("/v1/chat/completions", chatBody({ stream: true }))).text()
    const frames = malformed.split("\n\n").filter(Boolean)
    expect(frames[1]).toBe("data: {not json")
    expect(frames[frames.length - 1]).toBe("data: [DONE]")

    const noDone = await (await post("/v1/chat/completions", chatBody({ stream: true }))).text()
    expect(noDone).toContain('"finish_reason":"stop"')
    expect(noDone).not.toContain("[DONE]")

    const inBand = await (await post("/v1/chat/completions", chatBody({ stream: true }))).text()
    const last = inBand.split("\n\n").filter(Boolean).pop()!
    expect(JSON.parse(last.slice("data: ".length))).toMatchObject({ error: { type: "server_error" } })
    expect(inBand).not.toContain("[DONE]")
  })

  it("the Anthropic SDK rejects a stream cut before message_stop", async () => {
    const anthropic = new Anthropic({ apiKey: "k", baseURL: mock.url, maxRetries: 0 })
    mock.script({ cutAfterChunks: 4 })
    const err = await anthropic.messages
      .stream({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .finalMessage()
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
  })

  it("errorAfterChunks sends an in-band error event the SDKs raise", async () => {
    const anthropic = new Anthropic({ apiKey: "k", baseURL: mock.url, maxRetries: 0 })
    mock.script({ errorAfterChunks: 3 }, { errorAfterChunks: 3 })
    const e1 = (await anthropic.messages
      .stream({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .finalMessage()
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>
    expect(e1).toBeInstanceOf(Anthropic.APIError)
    expect(e1.error).toMatchObject({ error: { type: "overloaded_error" } })

    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    })
    const e2 = await (async () => {
      for await (const _ of stream) void _
    })().catch((e: unknown) => e)
    expect(e2).toBeInstanceOf(OpenAI.APIError)
  })

  it("detects a client abort on a hung request and on a stalled stream", async () => {
    mock.script({ hang: true }, { stallAfterChunks: 2 })
    const c1 = new AbortController()
    const p1 = post("/v1/chat/completions", chatBody(), { signal: c1.signal }).catch((e: unknown) => e)
    await mock.waitFor((m) => m.received.length === 1 && m.received[0]!.body !== undefined)
    c1.abort()
    await p1
    await mock.waitFor((m) => m.received[0]!.aborted)

    const c2 = new AbortController()
    const res = await post("/v1/chat/completions", chatBody({ stream: true }), { signal: c2.signal })
    const reader = res.body!.getReader()
    let text = ""
    while (text.split("\n\n").length < 3) text += new TextDecoder().decode((await reader.read()).value)
    expect(text.split("\n\n").filter(Boolean)).toHaveLength(2)
    c2.abort()
    await mock.waitFor((m) => m.received[1]!.aborted)
    expect(mock.received[1]!.finished).toBe(false)
  })

  it("firstTokenDelayMs sends headers at once and the first event late; delayMs delays headers", async () => {
    mock.script({ firstTokenDelayMs: 200 }, { delayMs: 150 })
    const t0 = Date.now()
    const res = await post("/v1/chat/completions", chatBody({ stream: true }))
    const headersAt = Date.now() - t0
    await res.text()
    const bodyAt = Date.now() - t0
    expect(bodyAt).toBeGreaterThanOrEqual(190)
    // The 200 ms run from the request's arrival, as do the headers: on a loaded machine they
    // reach the client tens of ms late, so "well before the first event" is 100 ms, not 150.
    expect(bodyAt - headersAt).toBeGreaterThanOrEqual(100)

    const t1 = Date.now()
    await post("/v1/chat/completions", chatBody())
    expect(Date.now() - t1).toBeGreaterThanOrEqual(140)
  })

  it("chunkDelayMs spaces a binary download's 16 KiB chunks out", async () => {
    mock.script({ chunkDelayMs: 40 }, { chunkDelayMs: 40 })
    const t0 = Date.now()
    const response = await post("/v1/audio/speech", JSON.stringify({ model: "tts-1", voice: "alloy", input: "abcd" }))
    // 4 000 bytes: one chunk, no wait before the end. 50 000 bytes below: 4 chunks, 3 waits at least.
    expect((await response.arrayBuffer()).byteLength).toBe(4_000)
    const small = Date.now() - t0
    const t1 = Date.now()
    const long = await post(
      "/v1/audio/speech",
      JSON.stringify({ model: "tts-1", voice: "alloy", input: "x".repeat(50) }),
    )
    expect((await long.arrayBuffer()).byteLength).toBe(50_000)
    expect(Date.now() - t1).toBeGreaterThanOrEqual(115)
    expect(small).toBeLessThan(Date.now() - t1)
  })

  it("chunkDelayMs spaces the events out", async () => {
    mock.script({ chunkDelayMs: 30, chunks: ["a", "b", "c"] })
    const t0 = Date.now()
    await (await post("/v1/chat/completions", chatBody({ stream: true }))).text()
    // 5 events (role, a, b, c, finish) + [DONE]: 5 gaps
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
  })

  it("matches queued behaviours by path and model, FIFO, and falls back to the default", async () => {
    mock.script(
      { status: 500, match: { model: "other-model" } },
      { status: 401, match: { path: "/v1/messages" } },
      { text: "first" },
      { text: "second" },
    )
    mock.setDefault({ status: 503 })
    const r1 = (await (await post("/v1/chat/completions", chatBody())).json()) as any
    expect(r1.choices[0].message.content).toBe("first")
    const r2 = await post("/v1/messages", JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 1, messages: [] }))
    expect(r2.status).toBe(401)
    expect(await r2.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } })
    const r3 = (await (await post("/v1/chat/completions", chatBody())).json()) as any
    expect(r3.choices[0].message.content).toBe("second")
    expect((await post("/v1/chat/completions", chatBody({ model: "other-model" }))).status).toBe(500)
    expect(mock.pending()).toBe(0)
    const r5 = await post("/v1/chat/completions", chatBody())
    expect(r5.status).toBe(503)
    expect(await r5.json()).toMatchObject({ error: { type: "service_unavailable" } })

    // A function default sees the request (e.g. fail the first two, then succeed).
    mock.setDefault((req) => (req.n <= 7 ? { status: 502 } : undefined))
    expect((await post("/v1/chat/completions", chatBody())).status).toBe(502)
    expect((await post("/v1/chat/completions", chatBody())).status).toBe(502)
    expect((await post("/v1/chat/completions", chatBody())).status).toBe(200)
    expect(mock.count).toBe(8)
  })

  it("enforces apiKeys and strictModels when configured", async () => {
    const strict = await startMockProvider({ models: ["m1"], apiKeys: ["good"], strictModels: true })
    try {
      const call = (key: string, model: string) =>
        fetch(`${strict.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: chatBody({ model }),
        })
      expect((await call("bad", "m1")).status).toBe(401)
      expect((await call("good", "nope")).status).toBe(404)
      expect((await call("good", "m1")).status).toBe(200)
    } finally {
      await strict.close()
    }
  })

  it("close() ends hung and stalled requests", async () => {
    const m = await startMockProvider()
    m.setDefault({ hang: true })
    const p = fetch(`${m.url}/v1/chat/completions`, { method: "POST", body: chatBody() }).catch((e: unknown) => e)
    await m.waitFor((x) => x.count === 1)
    await m.close()
    expect(await p).toBeInstanceOf(Error)
  })
})
