import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import type { Dialect, ErrorInfo } from "../../../src/protocol/Canonical.js"
import { codecs } from "../../../src/protocol/Dialect.js"
import { errorBody } from "../../../src/protocol/Errors.js"
import { makeTranscoder } from "../../../src/protocol/Transcoder.js"
import { ctx, parseFrames } from "./Frames.js"
import { conversation, normalizeConversation, type Scenario, scenario, scenarioEvents, summarize } from "./Scenario.js"

const DIALECTS: ReadonlyArray<Dialect> = ["openai-chat", "openai-responses", "anthropic", "gemini"]
const PAIRS = DIALECTS.flatMap((a) => DIALECTS.map((b) => [a, b] as const))

const request = {
  model: "client",
  system: [],
  messages: [],
  tools: [],
  stop: [],
  stream: true,
  streamUsage: true,
  source: "openai-chat",
  extra: {},
} as const

/** Scenario → upstream dialect frames → transcoder → client frames → client-dialect decoder → summary. */
const roundTrip = (s: Scenario, upstream: Dialect, client: Dialect) => {
  const upEncoder = codecs[upstream].makeStreamEncoder(ctx("up-model", { request }))
  const upstreamFrames = scenarioEvents(s).flatMap((e) => upEncoder.push(e))
  const t = makeTranscoder(upstream, client, ctx("client", { request }))
  const clientFrames = [...parseFrames(upstreamFrames).flatMap((e) => t.push(e)), ...t.finish()]
  const dec = codecs[client].makeStreamDecoder(ctx().ids)
  const events = [...parseFrames(clientFrames).flatMap((e) => dec.push(e)), ...dec.finish()]
  return { summary: summarize(events), transcoder: t }
}

describe("stream transcoding, every (upstream, client) pair", () => {
  for (const [upstream, client] of PAIRS) {
    it.prop(
      `${upstream} → ${client} conserves text, reasoning, tool calls, stop reason and usage`,
      [scenario],
      ([s]) => {
        const { summary, transcoder } = roundTrip(s, upstream, client)
        expect(summary.error).toBeUndefined()
        expect(summary.ended).toBe(true)
        expect(summary.text).toBe(s.text.join(""))
        expect(summary.reasoning).toBe(s.reasoning.join(""))
        expect(summary.tools).toEqual(s.tools.map((t) => ({ id: t.id, name: t.name, args: t.args })))
        expect(summary.stop).toBe(s.stop)
        expect(summary.usage.inputTokens).toBe(s.usage.inputTokens)
        expect(summary.usage.outputTokens).toBe(s.usage.outputTokens)
        expect(summary.usage.cachedInputTokens ?? 0).toBe(s.usage.cachedInputTokens)
        expect(transcoder.usage.outputTokens).toBe(s.usage.outputTokens)
        expect(transcoder.done).toBe(true)
      },
      { fastCheck: { numRuns: 40 } },
    )

    it.prop(
      `${upstream} → ${client}: a stream cut anywhere never ends as a success`,
      [scenario, fc.nat()],
      ([s, cut]) => {
        const upEncoder = codecs[upstream].makeStreamEncoder(ctx("up-model", { request }))
        const events = scenarioEvents(s)
        const upstreamFrames = events.slice(0, cut % (events.length - 1)).flatMap((e) => upEncoder.push(e))
        const t = makeTranscoder(upstream, client, ctx("client", { request }))
        const clientFrames = [...parseFrames(upstreamFrames).flatMap((e) => t.push(e)), ...t.finish()]
        const dec = codecs[client].makeStreamDecoder(ctx().ids)
        const summary = summarize([...parseFrames(clientFrames).flatMap((e) => dec.push(e)), ...dec.finish()])
        expect(summary.ended).toBe(false)
        expect(summary.error).toBeDefined()
      },
      { fastCheck: { numRuns: 15 } },
    )
  }
})

describe("request round trips: canonical → dialect → canonical", () => {
  for (const d of DIALECTS) {
    it.prop(
      `${d} keeps roles, text, images, tool calls and tool results`,
      [conversation],
      ([req]) => {
        const encoded = codecs[d].encodeRequest(req, "up", { stream: false })
        const decoded = Either.getOrThrow(codecs[d].decodeRequest(encoded.body, { model: "up" }))
        expect(normalizeConversation(decoded)).toEqual(normalizeConversation(req))
      },
      { fastCheck: { numRuns: 60 } },
    )
  }
})

describe("response round trips: canonical → dialect → canonical", () => {
  for (const d of DIALECTS) {
    it.prop(
      `${d} keeps text, tool calls, stop reason and usage`,
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
        const back = codecs[d].decodeResponse(codecs[d].encodeResponse(resp, ctx("client")))
        expect(
          back.content
            .filter((b) => b.type === "text")
            .map((b) => (b as { text: string }).text)
            .join(""),
        ).toBe(s.text.join(""))
        expect(back.content.filter((b) => b.type === "tool_use")).toEqual(
          resp.content.filter((b) => b.type === "tool_use"),
        )
        expect(back.stopReason).toBe(s.stop)
        expect(back.usage.inputTokens).toBe(s.usage.inputTokens)
        expect(back.usage.outputTokens).toBe(s.usage.outputTokens)
        expect(back.usage.cachedInputTokens).toBe(s.usage.cachedInputTokens)
      },
      { fastCheck: { numRuns: 40 } },
    )
  }
})

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

describe("error bodies", () => {
  it.prop("every dialect's error body has its exact shape", [errorInfo], ([e]) => {
    const oa = errorBody("openai-chat", e) as any
    expect(Object.keys(oa)).toEqual(["error"])
    expect(Object.keys(oa.error).sort()).toEqual(["code", "message", "param", "type"])
    expect(oa.error.message).toBe(e.message)
    expect(typeof oa.error.type).toBe("string")
    const an = errorBody("anthropic", e) as any
    expect(Object.keys(an).sort()).toEqual(["error", "type"])
    expect(an.type).toBe("error")
    expect(Object.keys(an.error).sort()).toEqual(["message", "type"])
    const ge = errorBody("gemini", e) as any
    expect(Object.keys(ge.error).sort()).toEqual(["code", "message", "status"])
    expect(ge.error.code).toBe(e.status)
    expect(ge.error.status).toMatch(/^[A-Z_]+$/)
  })

  for (const d of DIALECTS) {
    it.prop(`${d}: an in-band stream error is terminal and in the client's dialect`, [errorInfo], ([e]) => {
      const enc = codecs[d].makeStreamEncoder(ctx())
      const frames = [
        ...enc.push({ type: "message_start", id: "a", model: "b" }),
        ...enc.push({ type: "block_start", index: 0, block: { type: "text" } }),
        ...enc.error(e),
      ]
      expect(enc.done).toBe(true)
      expect(enc.push({ type: "end" })).toEqual([])
      expect(enc.finish()).toEqual([])
      const evs = parseFrames(frames)
      expect(evs.some((x) => x.data === "[DONE]")).toBe(false)
      const last = evs[evs.length - 1]!
      const body = JSON.parse(last.data)
      if (d === "anthropic") {
        expect(last.event).toBe("error")
        expect(body).toEqual(errorBody("anthropic", e))
      } else if (d === "openai-responses") {
        expect(last.event).toBe("error")
        expect(body.message).toBe(e.message)
      } else expect(body).toEqual(errorBody(d, e))
    })
  }
})
