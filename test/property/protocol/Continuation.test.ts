import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import type { Dialect, EncodeContext, SseEvent, StreamEvent } from "../../../src/protocol/Canonical.js"
import {
  CONTINUATION_MISMATCH,
  type ContinuationMode,
  makeSplice,
  prefillText,
} from "../../../src/protocol/Continuation.js"
import { codecs } from "../../../src/protocol/Dialect.js"
import { sequentialIds } from "../../../src/protocol/Ids.js"
import { makeTranscoder } from "../../../src/protocol/Transcoder.js"
import { deliveredText, makeTranscriptRecorder, type Transcript } from "../../../src/protocol/Transcript.js"
import { parseFrames } from "../../unit/protocol/Frames.js"

/**
 * Mid-stream rescue's pure core (Continuation.ts), end to end through the real codecs: an answer
 * streamed by one upstream (in its own dialect) to a client (in any dialect) is cut; a second
 * upstream (any dialect) answers again — the whole text (`restart`) or the rest after a prefill
 * (`prefill`) — and a transcoder primed with the transcript splices it on. What the client reads,
 * decoded back through its own dialect's decoder, must be the full text exactly once: no token
 * repeated, none lost, no whitespace doubled; a restart that says something else must never
 * reach the client.
 */

const DIALECTS: ReadonlyArray<Dialect> = ["openai-chat", "openai-responses", "anthropic", "gemini"]

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
const context = (model: string): EncodeContext => ({ model, ids: sequentialIds(), now: () => 1_700_000_000, request })

// ---------------------------------------------------------------------------------------------
// Generators

/** Pieces chosen to stress the splice: multi-byte (2-, 3-, 4-byte UTF-8, surrogate pairs, a combining mark), and whitespace runs. */
const piece = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9.,!?'"-]{1,6}$/) },
  { weight: 3, arbitrary: fc.constantFrom(" ", "  ", "\n", "\n\n", "\t", " \n ", "\r\n", "\u00a0", "\u3000") },
  { weight: 3, arbitrary: fc.constantFrom("é", "ß", "中文", "😀", "👍🏽", "e\u0301", "Ω", "🇫🇷", "\u200b") },
)

/** An answer text: at least one character, often starting or ending with whitespace. */
const answerText = fc.array(piece, { minLength: 1, maxLength: 24 }).map((ps) => ps.join(""))

/** Splits `text` into chunks at code point boundaries (a provider never splits a character). */
const chunksOf = (text: string): fc.Arbitrary<Array<string>> => {
  const cps = Array.from(text)
  return fc.array(fc.nat({ max: cps.length }), { maxLength: 8 }).map((cuts) => {
    const points = [...new Set([0, ...cuts, cps.length])].sort((a, b) => a - b)
    const out: Array<string> = []
    for (let i = 0; i + 1 < points.length; i++) out.push(cps.slice(points[i], points[i + 1]).join(""))
    return out.filter((c) => c !== "")
  })
}

/** A text, a cut point (in code points) and the dialects on each side. */
const cutAnswer = answerText.chain((text) =>
  fc.record({
    text: fc.constant(text),
    cut: fc.nat({ max: Array.from(text).length }),
    client: fc.constantFrom(...DIALECTS),
    first: fc.constantFrom(...DIALECTS),
    second: fc.constantFrom(...DIALECTS),
    firstChunks: fc.nat({ max: 1000 }),
    /** The first upstream closed its text block before the cut (only when everything was delivered). */
    closedAtCut: fc.boolean(),
    /** The second upstream thinks before it answers (its reasoning must be dropped). */
    reasoning: fc.option(fc.constantFrom("Let me think.", "hm\n", "🤔"), { nil: undefined }),
  }),
)

// ---------------------------------------------------------------------------------------------
// Streams

/** The frames an upstream of `dialect` sends for a text answer in `chunks` (cut: no end). */
const upstreamFrames = (
  dialect: Dialect,
  chunks: ReadonlyArray<string>,
  options: { readonly complete: boolean; readonly closeBlock?: boolean; readonly reasoning?: string | undefined },
): Array<SseEvent> => {
  const encoder = codecs[dialect].makeStreamEncoder(context("upstream-model"))
  const events: Array<StreamEvent> = [
    { type: "message_start", id: "up-1", model: "upstream-model", usage: { inputTokens: 7 } },
  ]
  let index = 0
  if (options.reasoning !== undefined) {
    events.push(
      { type: "block_start", index, block: { type: "reasoning" } },
      { type: "reasoning_delta", index, text: options.reasoning },
      { type: "block_stop", index },
    )
    index++
  }
  events.push({ type: "block_start", index, block: { type: "text" } })
  for (const text of chunks) events.push({ type: "text_delta", index, text })
  if (options.complete || options.closeBlock === true) events.push({ type: "block_stop", index })
  if (options.complete)
    events.push(
      { type: "usage", usage: { inputTokens: 7, outputTokens: 11 } },
      { type: "stop", reason: "end_turn" },
      { type: "end" },
    )
  const frames = events.flatMap((e) => encoder.push(e))
  return parseFrames(options.complete ? [...frames, ...encoder.finish()] : frames)
}

/** Splits an array of chunks of `text` so that the first part holds exactly `cut` code points. */
const splitAt = (
  chunks: ReadonlyArray<string>,
  cut: number,
): { readonly before: Array<string>; readonly after: Array<string> } => {
  const before: Array<string> = []
  const after: Array<string> = []
  let seen = 0
  for (const chunk of chunks) {
    const cps = Array.from(chunk)
    if (seen >= cut) after.push(chunk)
    else if (seen + cps.length <= cut) before.push(chunk)
    else {
      before.push(cps.slice(0, cut - seen).join(""))
      after.push(cps.slice(cut - seen).join(""))
    }
    seen += cps.length
  }
  return { before, after }
}

/** Deterministic chunking from a seed (the first stream's chunking is independent of the second's). */
const seededChunks = (text: string, seed: number): Array<string> => {
  const cps = Array.from(text)
  const out: Array<string> = []
  let at = 0
  let s = seed
  while (at < cps.length) {
    const n = 1 + (s % 5)
    s = (s * 31 + 7) % 1009
    out.push(cps.slice(at, at + n).join(""))
    at += n
  }
  return out
}

interface Broken {
  readonly delivered: string
  readonly transcript: Transcript
  /** The client frames of the first stream (up to the cut). */
  readonly frames: ReadonlyArray<string>
}

/** The first upstream streams `text` to the client and is cut after `cut` code points. */
const breakStream = (c: {
  text: string
  cut: number
  client: Dialect
  first: Dialect
  firstChunks: number
  closedAtCut: boolean
}): Broken => {
  const cps = Array.from(c.text)
  const { before } = splitAt(seededChunks(c.text, c.firstChunks), c.cut)
  const closeBlock = c.closedAtCut && c.cut === cps.length
  const transcoder = makeTranscoder(c.first, c.client, context("client"))
  const frames = upstreamFrames(c.first, before, { complete: false, closeBlock }).flatMap((e) => transcoder.push(e))
  expect(transcoder.upstreamError).toBeUndefined()
  return { delivered: cps.slice(0, c.cut).join(""), transcript: transcoder.transcript(), frames }
}

interface Continued {
  /** Text the splice produced for the client. */
  readonly text: string
  readonly events: ReadonlyArray<StreamEvent>
  /** The continuation's client frames (what `push`/`finish` returned). */
  readonly frames: ReadonlyArray<string>
  readonly transcoder: ReturnType<typeof makeTranscoder>
}

/** The second upstream's answer (`chunks`) spliced onto the client's stream, canonically and through a transcoder. */
const continueStream = (
  broken: Broken,
  second: Dialect,
  client: Dialect,
  mode: ContinuationMode,
  chunks: ReadonlyArray<string>,
  reasoning?: string,
): Continued => {
  const upstream = upstreamFrames(second, chunks, { complete: true, reasoning })
  // The pure splice, on the canonical events the second upstream's decoder produces.
  const decoder = codecs[second].makeStreamDecoder(sequentialIds())
  const splice = makeSplice(broken.transcript, mode, "model-2", "msg_fallback")
  const events = [...upstream.flatMap((e) => splice.push(decoder.push(e))), ...splice.push(decoder.finish())]
  const text = events.flatMap((e) => (e.type === "text_delta" ? [e.text] : [])).join("")
  // The same through a transcoder, as the gateway runs it.
  const transcoder = makeTranscoder(second, client, context("client"), {
    splice: makeSplice(broken.transcript, mode, "model-2", "msg_fallback"),
  })
  const frames = [...upstream.flatMap((e) => transcoder.push(e)), ...transcoder.finish()]
  return { text, events, frames, transcoder }
}

/** What the client reads: both streams' frames, decoded by its own dialect's decoder. */
const clientReads = (client: Dialect, frames: ReadonlyArray<string>) => {
  const decoder = codecs[client].makeStreamDecoder(sequentialIds())
  const events = [...parseFrames(frames).flatMap((e) => decoder.push(e)), ...decoder.finish()]
  return {
    text: events.flatMap((e) => (e.type === "text_delta" ? [e.text] : [])).join(""),
    ended: events.some((e) => e.type === "end"),
    errors: events.flatMap((e) => (e.type === "error" ? [e.error] : [])),
    stop: events.flatMap((e) => (e.type === "stop" ? [e.reason] : [])),
  }
}

const PROPS = { fastCheck: { numRuns: 300 } }

// ---------------------------------------------------------------------------------------------

describe("Continuation: a restart answer", () => {
  it.prop(
    "of the whole text, chunked differently, yields exactly the part the client does not have; the client reads the full text once",
    [cutAnswer.chain((c) => fc.tuple(fc.constant(c), chunksOf(c.text)))],
    ([[c, chunks]]) => {
      const broken = breakStream(c)
      expect(deliveredText(broken.transcript)).toBe(broken.delivered)
      expect(broken.transcript.blocker).toBeUndefined()
      const rest = c.text.slice(broken.delivered.length)
      const out = continueStream(broken, c.second, c.client, "restart", chunks, c.reasoning)
      expect(out.text).toBe(rest)
      expect(out.events.some((e) => e.type === "error")).toBe(false)
      expect(out.events.some((e) => e.type === "reasoning_delta")).toBe(false)
      expect(out.transcoder.upstreamError).toBeUndefined()
      const reads = clientReads(c.client, [...broken.frames, ...out.frames])
      expect(reads.errors).toEqual([])
      expect(reads.text).toBe(c.text)
      expect(reads.ended).toBe(true)
      expect(reads.stop).toEqual(["end_turn"])
      // The continuation's own transcript is the whole answer (a second rescue starts from it).
      expect(deliveredText(out.transcoder.transcript())).toBe(c.text)
    },
    PROPS,
  )

  it.prop(
    "that diverges anywhere before the delivered length yields an error event and no text",
    [
      cutAnswer
        .filter((c) => c.cut > 0)
        .chain((c) => fc.tuple(fc.constant(c), fc.nat({ max: c.cut - 1 }), fc.constantFrom("x", " ", "é", "😀")))
        .chain(([c, at, replacement]) => {
          const cps = Array.from(c.text)
          cps[at] = cps[at] === replacement ? "y" : replacement
          const diverging = cps.join("")
          return fc.tuple(fc.constant(c), chunksOf(diverging))
        }),
    ],
    ([[c, chunks]]) => {
      const broken = breakStream(c)
      const out = continueStream(broken, c.second, c.client, "restart", chunks, c.reasoning)
      expect(out.text).toBe("")
      const errors = out.events.flatMap((e) => (e.type === "error" ? [e.error] : []))
      expect(errors).toHaveLength(1)
      expect(errors[0]!.code).toBe(CONTINUATION_MISMATCH)
      // Through the transcoder: the error is held apart (the gateway fails over), and nothing
      // of the new answer was written for the client.
      expect(out.transcoder.upstreamError?.code).toBe(CONTINUATION_MISMATCH)
      expect(out.transcoder.errorFrames.length).toBeGreaterThan(0)
      const reads = clientReads(c.client, [...broken.frames, ...out.frames])
      expect(reads.text).toBe(broken.delivered)
      expect(reads.ended).toBe(false)
    },
    PROPS,
  )

  it.prop(
    "that ends before repeating all of the delivered text is refused",
    [cutAnswer.filter((c) => c.cut > 0).chain((c) => fc.tuple(fc.constant(c), fc.nat({ max: c.cut - 1 })))],
    ([[c, keep]]) => {
      const broken = breakStream(c)
      const short = Array.from(c.text).slice(0, keep).join("")
      const out = continueStream(broken, c.second, c.client, "restart", short === "" ? [] : [short])
      expect(out.text).toBe("")
      expect(out.events.filter((e) => e.type === "error").map((e) => e.type === "error" && e.error.code)).toEqual([
        CONTINUATION_MISMATCH,
      ])
      expect(out.transcoder.upstreamError?.code).toBe(CONTINUATION_MISMATCH)
    },
    PROPS,
  )
})

describe("Continuation: a prefill answer", () => {
  it.prop(
    "of what follows the prefill (delivered text without trailing whitespace) yields exactly the remainder, whitespace never doubled",
    [cutAnswer.chain((c) => fc.tuple(fc.constant(c), fc.nat({ max: 1000 })))],
    ([[c, seed]]) => {
      const broken = breakStream(c)
      const prefill = broken.delivered.trimEnd()
      expect(prefillText(broken.transcript)).toBe(prefill)
      // The model continues the prefill: it says the whitespace the prefill left out, then the rest.
      const answer = c.text.slice(prefill.length)
      const out = continueStream(broken, c.second, c.client, "prefill", seededChunks(answer, seed), c.reasoning)
      expect(out.text).toBe(c.text.slice(broken.delivered.length))
      expect(out.events.some((e) => e.type === "error")).toBe(false)
      const reads = clientReads(c.client, [...broken.frames, ...out.frames])
      expect(reads.errors).toEqual([])
      expect(reads.text).toBe(c.text)
      expect(reads.ended).toBe(true)
      expect(reads.stop).toEqual(["end_turn"])
    },
    PROPS,
  )

  it.prop(
    "that does not repeat the whitespace the client already has is forwarded as it is",
    [
      cutAnswer
        .filter((c) => {
          const rest = c.text.slice(Array.from(c.text).slice(0, c.cut).join("").length)
          return rest !== "" && rest.trimStart() === rest
        })
        .chain((c) => fc.tuple(fc.constant(c), fc.nat({ max: 1000 }))),
    ],
    ([[c, seed]]) => {
      const broken = breakStream(c)
      const rest = c.text.slice(broken.delivered.length)
      const out = continueStream(broken, c.second, c.client, "prefill", seededChunks(rest, seed))
      expect(out.text).toBe(rest)
      expect(clientReads(c.client, [...broken.frames, ...out.frames]).text).toBe(c.text)
    },
    PROPS,
  )
})

describe("Continuation: a continuation that breaks is continued again", () => {
  it.prop(
    "two cuts, two restarts: the client reads the full text once",
    [
      cutAnswer.chain((c) =>
        fc.tuple(
          fc.constant(c),
          fc.nat({ max: Array.from(c.text).length }),
          chunksOf(c.text),
          fc.constantFrom(...DIALECTS),
          fc.constantFrom<ContinuationMode>("prefill", "restart"),
        ),
      ),
    ],
    ([[c, secondCut, finalChunks, third, lastMode]]) => {
      const broken = breakStream(c)
      const cps = Array.from(c.text)
      const cut2 = Math.max(c.cut, secondCut)
      // The second upstream restarts and is cut too, after `cut2` code points of the whole text.
      const { before } = splitAt(seededChunks(c.text, c.firstChunks + 1), cut2)
      const second = makeTranscoder(c.second, c.client, context("client"), {
        splice: makeSplice(broken.transcript, "restart", "model-2", "msg_2"),
      })
      const secondFrames = upstreamFrames(c.second, before, { complete: false }).flatMap((e) => second.push(e))
      expect(second.upstreamError).toBeUndefined()
      const transcript = second.transcript()
      expect(deliveredText(transcript)).toBe(cps.slice(0, cut2).join(""))
      const rebroken: Broken = {
        delivered: deliveredText(transcript),
        transcript,
        frames: [...broken.frames, ...secondFrames],
      }
      const answer =
        lastMode === "restart" ? finalChunks : seededChunks(c.text.slice(prefillText(transcript).length), c.firstChunks)
      const out = continueStream(rebroken, third, c.client, lastMode, answer)
      const reads = clientReads(c.client, [...rebroken.frames, ...out.frames])
      expect(reads.errors).toEqual([])
      expect(reads.text).toBe(c.text)
      expect(reads.ended).toBe(true)
    },
    PROPS,
  )
})

describe("Transcript recording", () => {
  const record = (events: ReadonlyArray<StreamEvent>) => {
    const recorder = makeTranscriptRecorder()
    for (const e of events) recorder.observe(e)
    return recorder.snapshot()
  }
  const chat = (chunks: ReadonlyArray<Record<string, unknown>>) => {
    const recorder = makeTranscriptRecorder()
    for (const c of chunks) recorder.observeChatChunk(c)
    return recorder.snapshot()
  }
  const delta = (d: Record<string, unknown>, index = 0) => ({
    id: "chatcmpl-up",
    choices: [{ index, delta: d, finish_reason: null }],
  })

  it("from canonical events: each text block, the first message id, whether the last block is open", () => {
    const t = record([
      { type: "message_start", id: "msg_1", model: "m" },
      { type: "block_start", index: 0, block: { type: "text" } },
      { type: "text_delta", index: 0, text: "Hello, " },
      { type: "text_delta", index: 0, text: "wörld 😀" },
      { type: "block_stop", index: 0 },
      { type: "block_start", index: 1, block: { type: "text" } },
      { type: "text_delta", index: 1, text: "  second\n" },
      { type: "message_start", id: "msg_2", model: "m" },
    ])
    expect(t).toEqual({
      messageId: "msg_1",
      texts: ["Hello, wörld 😀", "  second\n"],
      lastOpen: true,
      blocker: undefined,
    })
    expect(deliveredText(t)).toBe("Hello, wörld 😀  second\n")
    expect(prefillText(t)).toBe("Hello, wörld 😀  second")
    expect(
      record([
        { type: "block_start", index: 0, block: { type: "text" } },
        { type: "text_delta", index: 0, text: "x" },
        { type: "block_stop", index: 0 },
      ]).lastOpen,
    ).toBe(false)
  })

  it("from canonical events: a tool call or reasoning already sent blocks a continuation", () => {
    const text: Array<StreamEvent> = [
      { type: "block_start", index: 0, block: { type: "text" } },
      { type: "text_delta", index: 0, text: "Let me check." },
      { type: "block_stop", index: 0 },
    ]
    const tool = record([
      ...text,
      { type: "block_start", index: 1, block: { type: "tool_use", id: "call_1", name: "get_weather" } },
      { type: "tool_input_delta", index: 1, partialJson: '{"ci' },
    ])
    expect(tool.blocker).toMatch(/tool call/)
    expect(tool.texts).toEqual(["Let me check."])
    expect(record([{ type: "block_start", index: 0, block: { type: "reasoning" } }, ...text]).blocker).toMatch(
      /reasoning/,
    )
    // A delta alone (its block_start seen by nobody) blocks as well.
    expect(record([{ type: "reasoning_delta", index: 3, text: "hm" }]).blocker).toMatch(/reasoning/)
    // The first blocker is the one reported.
    expect(
      record([
        { type: "tool_input_delta", index: 0, partialJson: "{" },
        { type: "reasoning_delta", index: 1, text: "hm" },
      ]).blocker,
    ).toMatch(/tool call/)
    expect(record(text).blocker).toBeUndefined()
  })

  it("from OpenAI chat chunks: content of choice 0, the chunk id; the role-only chunk opens no text", () => {
    expect(chat([delta({ role: "assistant", content: "" })])).toEqual({
      messageId: "chatcmpl-up",
      texts: [],
      lastOpen: false,
      blocker: undefined,
    })
    const t = chat([
      delta({ role: "assistant", content: "" }),
      delta({ content: "Bonjour " }),
      { id: "other", choices: [{ index: 0, delta: { content: "à tous\n" } }] },
      { id: "chatcmpl-up", choices: [], usage: { prompt_tokens: 1 } },
    ])
    expect(t).toEqual({ messageId: "chatcmpl-up", texts: ["Bonjour à tous\n"], lastOpen: true, blocker: undefined })
  })

  it("from OpenAI chat chunks: tool calls, reasoning, a refusal or a second choice set a blocker", () => {
    const toolCall = {
      tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }],
    }
    expect(chat([delta({ content: "ok" }), delta(toolCall)]).blocker).toMatch(/tool call/)
    expect(chat([delta({ reasoning_content: "thinking" }), delta({ content: "ok" })]).blocker).toMatch(/reasoning/)
    expect(chat([delta({ reasoning: "thinking" })]).blocker).toMatch(/reasoning/)
    expect(chat([delta({ refusal: "no" })]).blocker).toMatch(/refusal/)
    expect(chat([delta({ content: "a" }), delta({ content: "b" }, 1)]).blocker).toMatch(/second choice/)
    // Empty reasoning / tool call lists are no content.
    expect(chat([delta({ content: "a", reasoning_content: "", tool_calls: [] })]).blocker).toBeUndefined()
  })
})

describe("Continuation: examples", () => {
  const closed: Transcript = { messageId: "msg_1", texts: ["Hello world."], lastOpen: false, blocker: undefined }
  const open: Transcript = { messageId: "msg_1", texts: ["Hello "], lastOpen: true, blocker: undefined }
  const answer = (
    index: number,
    texts: ReadonlyArray<string>,
    tail: ReadonlyArray<StreamEvent> = [],
  ): Array<StreamEvent> => [
    { type: "message_start", id: "msg_new", model: "m2" },
    { type: "block_start", index, block: { type: "text" } },
    ...texts.map((text): StreamEvent => ({ type: "text_delta", index, text })),
    { type: "block_stop", index },
    ...tail,
    { type: "stop", reason: "end_turn" },
    { type: "end" },
  ]

  it("primes with the client's blocks, the last left open when the cut came inside it", () => {
    expect(makeSplice(open, "restart", "m2", "fallback").prime).toEqual([
      { type: "message_start", id: "msg_1", model: "m2" },
      { type: "block_start", index: 0, block: { type: "text" } },
      { type: "text_delta", index: 0, text: "Hello " },
    ])
    expect(makeSplice({ ...closed, messageId: undefined }, "prefill", "m2", "fallback").prime.at(-1)).toEqual({
      type: "block_stop",
      index: 0,
    })
    expect(makeSplice({ ...closed, messageId: undefined }, "prefill", "m2", "fallback").prime[0]).toMatchObject({
      id: "fallback",
    })
  })

  it("restart onto a closed block: the repeated text is dropped and new text opens the next block", () => {
    const out = makeSplice(closed, "restart", "m2", "f").push(answer(0, ["Hello ", "world.", " More."]))
    expect(out).toEqual([
      { type: "block_start", index: 1, block: { type: "text" } },
      { type: "text_delta", index: 1, text: " More." },
      { type: "block_stop", index: 1 },
      { type: "stop", reason: "end_turn" },
      { type: "end" },
    ])
  })

  it("restart onto an open block: the rest continues the client's block, closed before the stop", () => {
    const out = makeSplice(open, "restart", "m2", "f").push(answer(0, ["Hel", "lo wor", "ld"]))
    expect(out).toEqual([
      { type: "text_delta", index: 0, text: "wor" },
      { type: "text_delta", index: 0, text: "ld" },
      { type: "block_stop", index: 0 },
      { type: "stop", reason: "end_turn" },
      { type: "end" },
    ])
  })

  it("restart: a tool call before the delivered text is repeated is refused; after it, it is renumbered", () => {
    const tool: Array<StreamEvent> = [
      { type: "block_start", index: 1, block: { type: "tool_use", id: "c", name: "f" } },
      { type: "tool_input_delta", index: 1, partialJson: "{}" },
      { type: "block_stop", index: 1 },
    ]
    const early = makeSplice(open, "restart", "m2", "f").push(answer(0, ["Hel"], tool))
    expect(early.at(-1)).toMatchObject({ type: "error", error: { code: CONTINUATION_MISMATCH } })
    expect(early.some((e) => e.type === "block_start")).toBe(false)
    const late = makeSplice(open, "restart", "m2", "f").push(answer(0, ["Hello there"], tool))
    expect(late.filter((e) => e.type === "block_start" || e.type === "tool_input_delta")).toEqual([
      { type: "block_start", index: 1, block: { type: "tool_use", id: "c", name: "f" } },
      { type: "tool_input_delta", index: 1, partialJson: "{}" },
    ])
  })

  it("after a mismatch nothing more is produced", () => {
    const splice = makeSplice(open, "restart", "m2", "f")
    expect(splice.push(answer(0, ["Goodbye"])).map((e) => e.type)).toEqual(["error"])
    expect(splice.push(answer(0, ["Hello world"]))).toEqual([])
  })

  it("prefill: whitespace held back from the prefill is dropped only once, across chunks", () => {
    const t: Transcript = { messageId: undefined, texts: ["Line one.\n\n"], lastOpen: true, blocker: undefined }
    expect(prefillText(t)).toBe("Line one.")
    const text = (chunks: ReadonlyArray<string>) =>
      makeSplice(t, "prefill", "m2", "f")
        .push(answer(0, chunks))
        .flatMap((e) => (e.type === "text_delta" ? [e.text] : []))
        .join("")
    expect(text(["\n", "\nLine two."])).toBe("Line two.")
    expect(text(["\n\n\nLine two."])).toBe("\nLine two.")
    expect(text(["Line two."])).toBe("Line two.")
    expect(text([" ", "Line two."])).toBe(" Line two.")
  })
})
