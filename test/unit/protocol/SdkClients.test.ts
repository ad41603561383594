/** The official SDKs consume what the encoders produce (fetch is stubbed: no network). */
import Anthropic from "@anthropic-ai/sdk"
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import OpenAI from "openai"
import type { Dialect } from "../../../src/protocol/Canonical.js"
import { codecs } from "../../../src/protocol/Dialect.js"
import { makeTranscoder } from "../../../src/protocol/Transcoder.js"
import { ctx, parseFrames } from "./Frames.js"
import { type Scenario, scenarioEvents } from "./Scenario.js"

const s: Scenario = {
  reasoning: [],
  text: ["Let me ", "check."],
  tools: [
    { id: "call_a", name: "weather", args: { city: "Paris" }, chunks: ['{"city":', '"Paris"}'] },
    { id: "call_b", name: "time", args: {}, chunks: ["{}"] },
  ],
  stop: "tool_use",
  usage: { inputTokens: 30, cachedInputTokens: 10, outputTokens: 12 },
}

/** Upstream (any dialect) → client-dialect SSE body, through the real transcoder. */
const sseBody = (upstream: Dialect, client: Dialect, clientBody: unknown) => {
  const req = Either.getOrThrow(codecs[client].decodeRequest(clientBody, { model: "m" }))
  const up = codecs[upstream].makeStreamEncoder(ctx("up", { request: req }))
  const t = makeTranscoder(upstream, client, ctx("client-model", { request: req }))
  return [...parseFrames(scenarioEvents(s).flatMap((e) => up.push(e))).flatMap((e) => t.push(e)), ...t.finish()].join(
    "",
  )
}

const fetchReturning = (body: string, status = 200, contentType = "text/event-stream") =>
  (async () => new Response(body, { status, headers: { "content-type": contentType } })) as unknown as typeof fetch

describe("@anthropic-ai/sdk reads the Anthropic encoder's stream", () => {
  for (const upstream of ["openai-chat", "gemini", "openai-responses"] as const) {
    it(`from ${upstream}`, async () => {
      const body = { model: "m", max_tokens: 100, messages: [{ role: "user", content: "hi" }], stream: true }
      const client = new Anthropic({
        apiKey: "k",
        fetch: fetchReturning(sseBody(upstream, "anthropic", body)),
        maxRetries: 0,
      })
      const msg = await client.messages.stream(body as any).finalMessage()
      expect(msg.content).toEqual(
        [
          { type: "text", text: "Let me check.", citations: undefined },
          { type: "tool_use", id: "call_a", name: "weather", input: { city: "Paris" } },
          { type: "tool_use", id: "call_b", name: "time", input: {} },
        ].map((b) => JSON.parse(JSON.stringify(b))),
      )
      expect(msg.stop_reason).toBe("tool_use")
      expect(msg.usage).toMatchObject({ input_tokens: 20, cache_read_input_tokens: 10, output_tokens: 12 })
    })
  }

  it("raises the SDK's typed error for an Anthropic error body", async () => {
    const { errorBody } = await import("../../../src/protocol/Errors.js")
    const body = JSON.stringify(errorBody("anthropic", { kind: "rate_limit", message: "Too many", status: 429 }))
    const client = new Anthropic({ apiKey: "k", fetch: fetchReturning(body, 429, "application/json"), maxRetries: 0 })
    await expect(
      client.messages.create({ model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }] }),
    ).rejects.toMatchObject({
      status: 429,
      error: { type: "error", error: { type: "rate_limit_error", message: "Too many" } },
    })
  })
})

describe("openai SDK reads the OpenAI encoders' streams", () => {
  for (const upstream of ["anthropic", "gemini", "openai-responses"] as const) {
    it(`chat completions from ${upstream}`, async () => {
      const body = {
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        stream_options: { include_usage: true },
      }
      const client = new OpenAI({
        apiKey: "k",
        fetch: fetchReturning(sseBody(upstream, "openai-chat", body)),
        maxRetries: 0,
      })
      const done = await client.chat.completions.stream(body as any).finalChatCompletion()
      const choice = done.choices[0]!
      expect(choice.finish_reason).toBe("tool_calls")
      expect(choice.message.content).toBe("Let me check.")
      expect(
        choice.message.tool_calls?.map((t: any) => [t.id, t.function.name, JSON.parse(t.function.arguments)]),
      ).toEqual([
        ["call_a", "weather", { city: "Paris" }],
        ["call_b", "time", {}],
      ])
      expect(done.usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 })
    })

    it(`responses from ${upstream}`, async () => {
      const body = { model: "m", input: "hi", stream: true }
      const client = new OpenAI({
        apiKey: "k",
        fetch: fetchReturning(sseBody(upstream, "openai-responses", body)),
        maxRetries: 0,
      })
      const final = await client.responses.stream(body as any).finalResponse()
      expect(final.output_text).toBe("Let me check.")
      expect(
        final.output
          .filter((i: any) => i.type === "function_call")
          .map((i: any) => [i.call_id, i.name, JSON.parse(i.arguments)]),
      ).toEqual([
        ["call_a", "weather", { city: "Paris" }],
        ["call_b", "time", {}],
      ])
      expect(final.usage).toMatchObject({
        input_tokens: 30,
        output_tokens: 12,
        input_tokens_details: { cached_tokens: 10 },
      })
    })
  }

  it("surfaces an in-band chat stream error as an SDK error", async () => {
    const enc = codecs["openai-chat"].makeStreamEncoder(ctx())
    const frames = [
      ...enc.push({ type: "message_start", id: "x", model: "m" }),
      ...enc.push({ type: "block_start", index: 0, block: { type: "text" } }),
      ...enc.push({ type: "text_delta", index: 0, text: "par" }),
      ...enc.error({ kind: "server", message: "upstream cut", status: 502 }),
    ]
    const client = new OpenAI({ apiKey: "k", fetch: fetchReturning(frames.join("")), maxRetries: 0 })
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    })
    const seen: Array<string> = []
    await expect(
      (async () => {
        for await (const c of stream) seen.push(c.choices[0]?.delta?.content ?? "")
      })(),
    ).rejects.toThrow(/upstream cut/)
    expect(seen.join("")).toBe("par")
  })
})
