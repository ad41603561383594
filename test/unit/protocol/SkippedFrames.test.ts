import { describe, expect, it } from "@effect/vitest"
import type { Dialect, SseEvent, StreamEvent } from "../../../src/protocol/Canonical.js"
import { codecs } from "../../../src/protocol/Dialect.js"
import { sequentialIds } from "../../../src/protocol/Ids.js"
import { makeRelay } from "../../../src/protocol/Passthrough.js"
import { MALFORMED_FRAME, MAX_SKIPPED_FRAMES, makeTranscoder } from "../../../src/protocol/Transcoder.js"
import { ctx, parseFrames } from "./Frames.js"

/**
 * A few unreadable upstream frames are skipped (a proxy in the path garbled one; the answer goes
 * on), but no more than MAX_SKIPPED_FRAMES: the next one ends the stream, as a stream that keeps
 * garbling may have lost text. An upstream's own error event is never skipped and never written
 * by `push`: it is held apart so that, after commit, the gateway can continue the answer
 * elsewhere instead of sending it.
 */

const DIALECTS: ReadonlyArray<Dialect> = ["openai-chat", "openai-responses", "anthropic", "gemini"]
const PAIRS = DIALECTS.flatMap((a) => DIALECTS.map((b) => [a, b] as const))

const CHUNKS = ["Once upon ", "a time, ", "a fox 🦊 ", "ran ", "home."]
const FULL = CHUNKS.join("")

/** A complete upstream answer in `dialect`, one frame per event its encoder writes. */
const upstreamAnswer = (dialect: Dialect): Array<SseEvent> => {
  const encoder = codecs[dialect].makeStreamEncoder(ctx("upstream-model"))
  const events: Array<StreamEvent> = [
    { type: "message_start", id: "up-1", model: "upstream-model", usage: { inputTokens: 3 } },
    { type: "block_start", index: 0, block: { type: "text" } },
    ...CHUNKS.map((text): StreamEvent => ({ type: "text_delta", index: 0, text })),
    { type: "block_stop", index: 0 },
    { type: "usage", usage: { inputTokens: 3, outputTokens: 9 } },
    { type: "stop", reason: "end_turn" },
    { type: "end" },
  ]
  return parseFrames([...events.flatMap((e) => encoder.push(e)), ...encoder.finish()])
}

/** An unreadable frame in the dialect's framing (Anthropic names its events). */
const garbled = (dialect: Dialect, n: number): SseEvent =>
  dialect === "anthropic"
    ? { event: "content_block_delta", data: `{"type":"content_block_delta","index":0,"delta":{"ty` }
    : { data: n % 2 === 0 ? `{"choices":[{"delta":{"content":"lost` : "[1,2" }

/** Each dialect's own in-band error event. */
const upstreamError = (dialect: Dialect): SseEvent => {
  switch (dialect) {
    case "openai-chat":
      return {
        data: JSON.stringify({
          error: { message: "The server is overloaded", type: "server_error", param: null, code: null },
        }),
      }
    case "openai-responses":
      return {
        event: "error",
        data: JSON.stringify({
          type: "error",
          code: "server_error",
          message: "The server is overloaded",
          param: null,
          sequence_number: 7,
        }),
      }
    case "anthropic":
      return {
        event: "error",
        data: JSON.stringify({
          type: "error",
          error: { type: "overloaded_error", message: "The server is overloaded" },
        }),
      }
    case "gemini":
      return {
        data: JSON.stringify({ error: { code: 503, message: "The server is overloaded", status: "UNAVAILABLE" } }),
      }
  }
}

/**
 * The answer with `garbledCount` unreadable frames spread after its first text frame, and
 * optionally the upstream's error event after them. Returns the frames and the position of the
 * last inserted one.
 */
const withFaults = (dialect: Dialect, garbledCount: number, errorAfter = false) => {
  const frames = upstreamAnswer(dialect)
  const firstText = frames.findIndex((f) => f.data.includes(CHUNKS[0]!.trim()))
  expect(firstText).toBeGreaterThanOrEqual(0)
  const inserted = [
    ...Array.from({ length: garbledCount }, (_, n) => garbled(dialect, n)),
    ...(errorAfter ? [upstreamError(dialect)] : []),
  ]
  // One fault after each of the following frames, so good frames sit between them.
  const out: Array<SseEvent> = []
  let k = 0
  frames.forEach((f, i) => {
    out.push(f)
    if (i >= firstText && k < inserted.length) out.push(inserted[k++]!)
  })
  while (k < inserted.length) out.splice(out.length - 1, 0, inserted[k++]!)
  return { frames: out, faults: new Set(inserted) }
}

/** What a client of `dialect` reads from frames: its text, a successful end, in-band errors (not the decoder's own "truncated" at the end). */
const read = (dialect: Dialect, frames: ReadonlyArray<string>) => {
  const decoder = codecs[dialect].makeStreamDecoder(sequentialIds())
  const events = [
    ...parseFrames(frames).flatMap((e) => decoder.push(e)),
    ...decoder.finish().filter((e) => e.type !== "error"),
  ]
  return {
    text: events.flatMap((e) => (e.type === "text_delta" ? [e.text] : [])).join(""),
    ended: events.some((e) => e.type === "end"),
    errors: events.flatMap((e) => (e.type === "error" ? [e.error] : [])),
  }
}

describe("passthrough relays (makeRelay) skip a few unreadable frames", () => {
  for (const dialect of DIALECTS) {
    it(`${dialect}: ${MAX_SKIPPED_FRAMES} unreadable frames are dropped, the answer relays whole and completes`, () => {
      const relay = makeRelay(dialect, sequentialIds())
      const { frames, faults } = withFaults(dialect, MAX_SKIPPED_FRAMES)
      const relayed: Array<string> = []
      for (const f of frames) {
        const out = relay.push(f)
        if (faults.has(f)) expect(out).toBe("")
        else relayed.push(out)
      }
      expect(relay.finish()).toBeUndefined()
      expect(relay.skippedFrames).toBe(MAX_SKIPPED_FRAMES)
      expect(relay.upstreamError).toBeUndefined()
      expect(relay.complete || dialect === "gemini").toBe(true)
      const client = read(dialect, relayed)
      expect(client).toEqual({ text: FULL, ended: true, errors: [] })
      expect(relay.transcript().texts.join("")).toBe(FULL)
    })

    it(`${dialect}: the unreadable frame after ${MAX_SKIPPED_FRAMES} skipped ones ends the stream, and nothing after it is relayed`, () => {
      const relay = makeRelay(dialect, sequentialIds())
      const { frames } = withFaults(dialect, MAX_SKIPPED_FRAMES + 1)
      const relayed: Array<string> = []
      // The gateway stops reading an upstream at its first failure (StreamCommit), as here.
      for (const f of frames) {
        const out = relay.push(f)
        if (relay.upstreamError !== undefined) {
          expect(out).toBe("")
          break
        }
        relayed.push(out)
      }
      expect(relay.upstreamError).toBeDefined()
      expect(relay.skippedFrames).toBe(MAX_SKIPPED_FRAMES)
      expect(relay.upstreamError?.code).toBe(MALFORMED_FRAME)
      // An unreadable frame is never relayed as the upstream's error: the gateway words it.
      expect(relay.upstreamErrorFrames).toEqual([])
      // The client got a prefix of the answer and no end: the gateway must now end or continue it.
      const client = read(dialect, relayed)
      expect(client.ended).toBe(false)
      expect(FULL.startsWith(client.text)).toBe(true)
      expect(client.text.length).toBeLessThan(FULL.length)
      // In-band error frames in the dialect, for the gateway to send.
      const errorRead = read(dialect, [...relayed, ...relay.errorFrames(relay.upstreamError!)])
      expect(errorRead.errors.map((e) => e.message)).toContain(relay.upstreamError!.message)
    })

    it(`${dialect}: the upstream's own error event is never skipped; it is held in upstreamErrorFrames, not returned by push`, () => {
      const relay = makeRelay(dialect, sequentialIds())
      const { frames, faults } = withFaults(dialect, 1, true)
      const errorEvent = [...faults].at(-1)!
      const relayed: Array<string> = []
      for (const f of frames) {
        const out = relay.push(f)
        if (f === errorEvent) {
          expect(out).toBe("")
          break
        }
        relayed.push(out)
      }
      expect(relay.skippedFrames).toBe(1)
      expect(relay.upstreamError?.code).not.toBe(MALFORMED_FRAME)
      expect(relay.upstreamError?.message).toContain("The server is overloaded")
      expect(relay.meaningful).toBe(true)
      expect(relay.upstreamErrorFrames).toHaveLength(1)
      expect(relayed.join("")).not.toContain("overloaded")
      // The held frame is the error in the client's dialect (as received, for all but OpenAI chat).
      const held = read(dialect, [...relayed, ...relay.upstreamErrorFrames])
      expect(held.errors.map((e) => e.message)).toContain(relay.upstreamError!.message)
      expect(held.ended).toBe(false)
    })
  }
})

describe("the transcoder skips a few unreadable frames", () => {
  for (const [upstream, client] of PAIRS) {
    it(`${upstream} → ${client}: ${MAX_SKIPPED_FRAMES} skipped, the answer completes; one more ends it with the error held apart`, () => {
      const ok = makeTranscoder(upstream, client, ctx())
      const good = withFaults(upstream, MAX_SKIPPED_FRAMES)
      const okFrames: Array<string> = []
      for (const f of good.frames) {
        const out = ok.push(f)
        if (good.faults.has(f)) expect(out).toEqual([])
        okFrames.push(...out)
      }
      okFrames.push(...ok.finish())
      expect(ok.skippedFrames).toBe(MAX_SKIPPED_FRAMES)
      expect(ok.upstreamError).toBeUndefined()
      expect(ok.done).toBe(true)
      expect(read(client, okFrames)).toEqual({ text: FULL, ended: true, errors: [] })

      const bad = makeTranscoder(upstream, client, ctx())
      const broken = withFaults(upstream, MAX_SKIPPED_FRAMES + 1)
      const badFrames: Array<string> = []
      let failed = false
      for (const f of broken.frames) {
        const out = bad.push(f)
        if (failed) expect(out).toEqual([])
        if (bad.upstreamError !== undefined && !failed) {
          failed = true
          expect(out).toEqual([])
        }
        badFrames.push(...out)
      }
      badFrames.push(...bad.finish())
      expect(failed).toBe(true)
      expect(bad.skippedFrames).toBe(MAX_SKIPPED_FRAMES)
      expect(bad.upstreamError?.code).toBe(MALFORMED_FRAME)
      const cut = read(client, badFrames)
      expect(cut.ended).toBe(false)
      expect(cut.errors).toEqual([])
      expect(FULL.startsWith(cut.text) && cut.text.length < FULL.length).toBe(true)
      expect(read(client, [...badFrames, ...bad.errorFrames]).errors.map((e) => e.code)).toContain(
        read(client, bad.errorFrames).errors[0]?.code,
      )
      expect(bad.errorFrames.length).toBeGreaterThan(0)
    })

    it(`${upstream} → ${client}: the upstream's error event is held in errorFrames, not returned by push`, () => {
      const t = makeTranscoder(upstream, client, ctx())
      const { frames, faults } = withFaults(upstream, 2, true)
      const errorEvent = [...faults].at(-1)!
      const written: Array<string> = []
      let after = false
      for (const f of frames) {
        const out = t.push(f)
        if (f === errorEvent) after = true
        if (after) expect(out).toEqual([])
        written.push(...out)
      }
      written.push(...t.finish())
      expect(t.skippedFrames).toBe(2)
      expect(t.upstreamError?.message).toContain("The server is overloaded")
      expect(t.meaningful).toBe(true)
      const client_ = read(client, written)
      expect(client_.errors).toEqual([])
      expect(client_.ended).toBe(false)
      expect(written.join("")).not.toContain("overloaded")
      const held = read(client, [...written, ...t.errorFrames])
      expect(held.errors.map((e) => e.message).join(" ")).toContain("The server is overloaded")
    })
  }
})

describe("an OpenAI chat stream that cannot be placed is not an unreadable frame", () => {
  /**
   * The chat decoder's "a tool call continued after other content" is a terminal failure (it
   * decodes nothing more): it carries `upstream_stream_error`, not the unreadable-frame code, so
   * it is never skipped as a frame and the stream is accounted as failed.
   */
  it("a tool call that continues after text ends the stream with upstreamError at that frame", () => {
    const chunk = (delta: Record<string, unknown>) => ({
      data: JSON.stringify({ id: "c1", model: "m", choices: [{ index: 0, delta, finish_reason: null }] }),
    })
    const call = (args: string, id?: string) => ({
      tool_calls: [
        {
          index: 0,
          ...(id
            ? { id, type: "function", function: { name: "f", arguments: args } }
            : { function: { arguments: args } }),
        },
      ],
    })
    const t = makeTranscoder("openai-chat", "anthropic", ctx())
    for (const f of [
      chunk({ role: "assistant", content: "" }),
      chunk(call('{"a":', "call_1")),
      chunk({ content: "text" }),
      chunk(call("1}")),
    ])
      t.push(f)
    expect(t.upstreamError).toBeDefined()
  })
})
