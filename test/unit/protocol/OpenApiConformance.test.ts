/** OpenAI-dialect outputs validated against the official OpenAPI document. */
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import type { CanonicalRequest, ErrorInfo } from "../../../src/protocol/Canonical.js"
import { codecs } from "../../../src/protocol/Dialect.js"
import { errorBody } from "../../../src/protocol/Errors.js"
import * as OpenAiEmbeddings from "../../../src/protocol/embeddings/OpenAiEmbeddings.js"
import { makeTranscoder } from "../../../src/protocol/Transcoder.js"
import { validateOpenAi } from "../../support/OpenApiSpec.js"
import { ctx, parseFrames } from "./Frames.js"
import { scenario, scenarioEvents } from "./Scenario.js"

const request: CanonicalRequest = {
  model: "gpt-alias",
  system: [{ type: "text", text: "Be brief." }],
  messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
  tools: [
    {
      name: "weather",
      description: "Weather",
      parameters: { type: "object", properties: { city: { type: "string" } } },
    },
  ],
  toolChoice: { type: "auto" },
  maxTokens: 256,
  temperature: 0.5,
  stop: [],
  stream: true,
  streamUsage: true,
  source: "openai-chat",
  extra: {},
}

const ok = (schema: string, value: unknown) =>
  expect(validateOpenAi(schema, value), `${schema}: ${JSON.stringify(value)}`).toEqual([])

/** The Responses stream schema is a oneOf over every event type: validate each against its own component. */
const RESPONSES_EVENT_SCHEMA: Record<string, string> = {
  "response.created": "ResponseCreatedEvent",
  "response.in_progress": "ResponseInProgressEvent",
  "response.completed": "ResponseCompletedEvent",
  "response.incomplete": "ResponseIncompleteEvent",
  "response.failed": "ResponseFailedEvent",
  "response.output_item.added": "ResponseOutputItemAddedEvent",
  "response.output_item.done": "ResponseOutputItemDoneEvent",
  "response.content_part.added": "ResponseContentPartAddedEvent",
  "response.content_part.done": "ResponseContentPartDoneEvent",
  "response.output_text.delta": "ResponseTextDeltaEvent",
  "response.output_text.done": "ResponseTextDoneEvent",
  "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
  "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
  "response.reasoning_summary_part.added": "ResponseReasoningSummaryPartAddedEvent",
  "response.reasoning_summary_part.done": "ResponseReasoningSummaryPartDoneEvent",
  "response.reasoning_summary_text.delta": "ResponseReasoningSummaryTextDeltaEvent",
  "response.reasoning_summary_text.done": "ResponseReasoningSummaryTextDoneEvent",
  error: "ResponseErrorEvent",
}

const errorInfo: fc.Arbitrary<ErrorInfo> = fc.record({
  kind: fc.constantFrom(
    "invalid_request",
    "authentication",
    "permission",
    "not_found",
    "request_too_large",
    "rate_limit",
    "overloaded",
    "timeout",
    "server",
  ),
  message: fc.string(),
  status: fc.integer({ min: 400, max: 599 }),
})

describe("OpenAI chat outputs conform to the OpenAPI document", () => {
  it.prop(
    "chat.completion objects",
    [scenario],
    ([s]) => {
      const resp = {
        id: "x",
        model: "m",
        content: [
          { type: "text" as const, text: s.text.join("") },
          ...s.tools.map((t) => ({ type: "tool_use" as const, id: t.id, name: t.name, input: t.args })),
        ],
        stopReason: s.stop,
        usage: s.usage,
      }
      ok("CreateChatCompletionResponse", codecs["openai-chat"].encodeResponse(resp, ctx("gpt", { request })))
    },
    { fastCheck: { numRuns: 20 } },
  )

  for (const upstream of ["anthropic", "gemini", "openai-responses"] as const) {
    it.prop(
      `chat.completion.chunk frames transcoded from ${upstream}`,
      [scenario],
      ([s]) => {
        const up = codecs[upstream].makeStreamEncoder(ctx("up", { request }))
        const t = makeTranscoder(upstream, "openai-chat", ctx("gpt", { request }))
        const frames = [
          ...parseFrames(scenarioEvents(s).flatMap((e) => up.push(e))).flatMap((e) => t.push(e)),
          ...t.finish(),
        ]
        const evs = parseFrames(frames)
        expect(evs[evs.length - 1]!.data).toBe("[DONE]")
        for (const e of evs.slice(0, -1)) ok("CreateChatCompletionStreamResponse", JSON.parse(e.data))
      },
      { fastCheck: { numRuns: 10 } },
    )
  }

  it.prop("error bodies (HTTP and in-band)", [errorInfo], ([e]) => {
    ok("ErrorResponse", errorBody("openai-chat", e))
    const enc = codecs["openai-chat"].makeStreamEncoder(ctx())
    ok("ErrorResponse", JSON.parse(parseFrames(enc.error(e))[0]!.data))
  })
})

describe("OpenAI Responses outputs conform to the OpenAPI document", () => {
  const responsesRequest: CanonicalRequest = { ...request, source: "openai-responses" }

  it.prop(
    "response objects",
    [scenario],
    ([s]) => {
      const resp = {
        id: "x",
        model: "m",
        content: [
          { type: "reasoning" as const, text: s.reasoning.join("") },
          { type: "text" as const, text: s.text.join("") },
          ...s.tools.map((t) => ({ type: "tool_use" as const, id: t.id, name: t.name, input: t.args })),
        ],
        stopReason: s.stop,
        usage: s.usage,
      }
      const out = codecs["openai-responses"].encodeResponse(resp, ctx("gpt", { request: responsesRequest }))
      ok("Response", out)
      expect(out.usage).toMatchObject({ input_tokens: s.usage.inputTokens, output_tokens: s.usage.outputTokens })
    },
    { fastCheck: { numRuns: 20 } },
  )

  for (const upstream of ["openai-chat", "anthropic", "gemini"] as const) {
    it.prop(
      `event streams transcoded from ${upstream}: every event valid, ids consistent, sequence numbers increasing`,
      [scenario],
      ([s]) => {
        const up = codecs[upstream].makeStreamEncoder(ctx("up", { request }))
        const t = makeTranscoder(upstream, "openai-responses", ctx("gpt", { request: responsesRequest }))
        const evs = parseFrames([
          ...parseFrames(scenarioEvents(s).flatMap((e) => up.push(e))).flatMap((e) => t.push(e)),
          ...t.finish(),
        ])
        const data = evs.map((e) => JSON.parse(e.data))
        data.forEach((d, i) => {
          expect(evs[i]!.event).toBe(d.type)
          expect(d.sequence_number).toBe(i)
          const schema = RESPONSES_EVENT_SCHEMA[d.type]
          expect(schema, d.type).toBeDefined()
          ok(schema!, d)
        })
        const final = data[data.length - 1]
        expect(["response.completed", "response.incomplete"]).toContain(final.type)
        expect(final.response.id).toBe(data[0].response.id)
        expect(final.response.id).toMatch(/^resp_/)
        const itemIds = new Set(final.response.output.map((i: any) => i.id))
        for (const d of data) if (d.item_id !== undefined) expect(itemIds.has(d.item_id)).toBe(true)
        const added = data.filter((d) => d.type === "response.output_item.added").map((d) => d.item.id)
        expect(added).toEqual(final.response.output.map((i: any) => i.id))
        const text = data
          .filter((d) => d.type === "response.output_text.delta")
          .map((d) => d.delta)
          .join("")
        expect(text).toBe(s.text.join(""))
        expect(final.response.output_text).toBe(s.text.join(""))
        expect(final.response.usage).toMatchObject({
          input_tokens: s.usage.inputTokens,
          output_tokens: s.usage.outputTokens,
        })
      },
      { fastCheck: { numRuns: 10 } },
    )
  }

  it.prop("in-band errors: response.failed then error", [errorInfo], ([e]) => {
    const enc = codecs["openai-responses"].makeStreamEncoder(ctx("gpt", { request: responsesRequest }))
    const evs = parseFrames([...enc.push({ type: "message_start", id: "a", model: "b" }), ...enc.error(e)])
    const types = evs.map((x) => x.event)
    expect(types).toEqual(["response.created", "response.in_progress", "response.failed", "error"])
    for (const x of evs) ok(RESPONSES_EVENT_SCHEMA[x.event!]!, JSON.parse(x.data))
    expect(JSON.parse(evs[2]!.data).response.status).toBe("failed")
  })
})

describe("OpenAI embeddings outputs conform to the OpenAPI document", () => {
  it.prop(
    "converted answers conform to CreateEmbeddingResponse (float) and decode back (base64)",
    [
      fc.array(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 8 }), {
        minLength: 1,
        maxLength: 5,
      }),
    ],
    ([vectors]) => {
      const request = {
        inputs: vectors.map(() => "x"),
        single: false,
        dimensions: undefined,
        encoding: "float" as const,
        untranslatable: [],
      }
      const floats = OpenAiEmbeddings.encodeResponse({ vectors, promptTokens: 3 }, request, "m", 3)
      expect(validateOpenAi("CreateEmbeddingResponse", floats)).toEqual([])
      const b64 = OpenAiEmbeddings.encodeResponse(
        { vectors, promptTokens: 3 },
        { ...request, encoding: "base64" },
        "m",
        3,
      )
      const decoded = OpenAiEmbeddings.decodeResponse(JSON.parse(JSON.stringify(b64)), vectors.length)
      expect(Either.getOrThrow(decoded).vectors).toEqual(vectors.map((v) => v.map((x) => (Object.is(x, -0) ? -0 : x))))
    },
    { fastCheck: { numRuns: 20 } },
  )
})
