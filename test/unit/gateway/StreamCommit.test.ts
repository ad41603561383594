import { PassThrough } from "node:stream"
import { Duration, Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { relayCodec } from "../../../src/gateway/StreamCodecs.js"
import { commitStream, type StreamOutcome, type StreamSink } from "../../../src/gateway/StreamCommit.js"
import { randomIds } from "../../../src/protocol/Ids.js"
import { makeRelay } from "../../../src/protocol/Passthrough.js"
import { SSE_DONE } from "../../../src/protocol/Sse.js"
import { MAX_SKIPPED_FRAMES } from "../../../src/protocol/Transcoder.js"
import { UpstreamTransportError } from "../../../src/shared/UpstreamFailure.js"
import type { UpstreamStream } from "../../../src/upstream/UpstreamClient.js"

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`

/** An upstream body the test writes into, and what the commit did to it. */
const fakeUpstream = () => {
  const body = new PassThrough()
  // As UpstreamClient does: a body error after the reader let go is nobody's to handle.
  body.on("error", () => {})
  const state = { aborted: false }
  const upstream: UpstreamStream = {
    status: 200,
    headers: {},
    body,
    abort: () => {
      state.aborted = true
      body.destroy(new Error("aborted"))
    },
    bodyError: (cause) =>
      new UpstreamTransportError({
        provider: "p",
        model: "m",
        reason: "reset",
        message: `upstream body broke: ${String(cause)}`,
      }),
  }
  return { body, upstream, state }
}

/** A client response that records what it got and can refuse writes (backpressure). */
const fakeSink = (accepting: () => boolean) => {
  const written: Array<string> = []
  const drains: Array<() => void> = []
  let ended = false
  const sink: StreamSink = {
    write: (text) => {
      written.push(text)
      return accepting()
    },
    end: () => {
      ended = true
    },
    once: (_event, listener) => drains.push(listener),
  }
  const drain = () => {
    for (const f of drains.splice(0)) f()
  }
  return { sink, written, drain, ended: () => ended }
}

const start = (upstream: UpstreamStream, outcomes: Array<StreamOutcome>, timeout = Duration.seconds(5)) =>
  Effect.runPromise(
    Effect.either(
      commitStream(
        upstream,
        relayCodec(makeRelay("openai-chat", randomIds, false), SSE_DONE),
        timeout,
        { provider: "p", model: "m" },
        {
          onFinish: (outcome) => outcomes.push(outcome),
        },
      ),
    ),
  )

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe("commitStream", () => {
  it("commits on the first content, relays the rest as it comes, and ends the client stream complete", async () => {
    const { body, upstream } = fakeUpstream()
    const outcomes: Array<StreamOutcome> = []
    const committing = start(upstream, outcomes)
    body.write(chunk({ role: "assistant", content: "" }))
    await tick()
    body.write(chunk({ content: "Hel" }))
    const live = await committing
    expect(Either.isRight(live)).toBe(true)
    const client = fakeSink(() => true)
    Either.getOrThrow(live).relayTo(client.sink)
    expect(client.written.join("")).toContain('"Hel"')
    body.write(chunk({ content: "lo" }) + chunk({}, "stop") + SSE_DONE)
    body.end()
    await tick()
    expect(client.written.join("")).toContain('"lo"')
    expect(client.written.join("").endsWith(SSE_DONE)).toBe(true)
    expect(client.ended()).toBe(true)
    expect(outcomes).toEqual([{ complete: true }])
  })

  it("pauses the upstream body while the client cannot take more, and resumes on drain", async () => {
    const { body, upstream } = fakeUpstream()
    const outcomes: Array<StreamOutcome> = []
    const committing = start(upstream, outcomes)
    body.write(chunk({ role: "assistant", content: "a" }))
    const live = Either.getOrThrow(await committing)
    let accepting = false
    const client = fakeSink(() => accepting)
    live.relayTo(client.sink)
    expect(body.isPaused()).toBe(true)
    accepting = true
    client.drain()
    expect(body.isPaused()).toBe(false)
    body.end(chunk({}, "stop") + SSE_DONE)
    await tick()
    expect(outcomes).toEqual([{ complete: true }])
  })

  it("a client that leaves aborts the upstream call and reports the stream unfinished", async () => {
    const { body, upstream, state } = fakeUpstream()
    const outcomes: Array<StreamOutcome> = []
    const committing = start(upstream, outcomes)
    body.write(chunk({ role: "assistant", content: "a" }))
    const live = Either.getOrThrow(await committing)
    live.relayTo(fakeSink(() => true).sink)
    live.cancel()
    expect(state.aborted).toBe(true)
    expect(outcomes).toEqual([{ complete: false, error: "client disconnected" }])
  })

  it("a cut after commit ends the client stream with an in-band error and no [DONE]", async () => {
    const { body, upstream } = fakeUpstream()
    const outcomes: Array<StreamOutcome> = []
    const committing = start(upstream, outcomes)
    body.write(chunk({ role: "assistant", content: "a" }))
    const live = Either.getOrThrow(await committing)
    const client = fakeSink(() => true)
    live.relayTo(client.sink)
    body.destroy(new Error("socket hang up"))
    await tick()
    const text = client.written.join("")
    expect(text).toContain('"error"')
    expect(text).not.toContain("[DONE]")
    expect(client.ended()).toBe(true)
    expect(outcomes[0]?.complete).toBe(false)
  })

  it("fails before commit, so the caller can fail over: no event at all, more unreadable frames than may be skipped, no first token in time", async () => {
    const empty = fakeUpstream()
    const emptying = start(empty.upstream, [])
    empty.body.end()
    const none = await emptying
    expect(Either.isLeft(none) && none.left.reason).toBe("truncated")

    const bad = fakeUpstream()
    const malformed = start(bad.upstream, [])
    // Up to MAX_SKIPPED_FRAMES unreadable frames are skipped; the next one ends the stream.
    bad.body.write("data: {not json\n\n".repeat(MAX_SKIPPED_FRAMES + 1))
    const broken = await malformed
    expect(Either.isLeft(broken) && broken.left.reason).toBe("malformed")
    expect(bad.state.aborted).toBe(true)

    const silent = fakeUpstream()
    const waiting = await start(silent.upstream, [], Duration.millis(50))
    expect(Either.isLeft(waiting) && waiting.left.reason).toBe("first_token_timeout")
    expect(silent.state.aborted).toBe(true)
  })
})
