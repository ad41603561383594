import { Duration, Effect } from "effect"
import { createParser, type EventSourceMessage } from "eventsource-parser"
import { StringDecoder } from "node:string_decoder"
import type { SseEvent } from "../protocol/Canonical.js"
import type { Transcript } from "../protocol/Transcript.js"
import type { UpstreamStream } from "../upstream/UpstreamClient.js"
import { UpstreamTransportError } from "../shared/UpstreamFailure.js"
import type { CodecStep, StreamCodec } from "./StreamCodec.js"

interface Origin {
  readonly provider: string
  readonly model: string
}

export interface StreamOutcome {
  readonly complete: boolean
  readonly error?: string
  /** Ended by the gateway itself (its shutdown), not by the upstream: no failure of the upstream's. */
  readonly byGateway?: boolean
  /** The upstream's part failed, and another upstream is asked to continue the client's stream. */
  readonly rescued?: boolean
}

/** Where a committed stream is written: the client's response (backpressure through `drain`). */
export interface StreamSink {
  write(text: string): boolean
  end(): void
  once(event: "drain", listener: () => void): unknown
}

/** A stream that has committed: the client may now be answered 200 with it. */
export interface LiveStream {
  /** Writes everything produced so far, then relays the rest into `sink` and ends it. Call once. */
  readonly relayTo: (sink: StreamSink) => void
  /** The client went away: stop relaying and abort the upstream call. */
  readonly cancel: () => void
}

/**
 * Mid-stream rescue (docs/ARCHITECTURE.md): a committed stream that failed is continued by
 * another upstream's answer, spliced on. `start` looks for one and hands it over committed, or
 * `undefined` when there is none (the client then gets the in-band error, as without rescue).
 */
export interface Rescue {
  readonly start: (done: (next: LiveStream | undefined) => void) => void
  /** The client went away, or the gateway ends the stream, before `done`. */
  readonly cancel: () => void
}

export interface CommitHooks {
  /** Called once when this upstream's part ends: complete, cut, handed to a rescue, or abandoned by the client. */
  readonly onFinish: (outcome: StreamOutcome) => void
  /** Sees every piece of text written to the client (session context). */
  readonly observe?: (text: string) => void
  /** After commit, a failed stream may be continued elsewhere: how, or undefined when it may not. */
  readonly rescue?: (transcript: Transcript, failure: string) => Rescue | undefined
  /**
   * The client's stream ended here (not handed to a continuation, whose own hooks then say it):
   * whether the client got a complete answer. Called once for the whole chain.
   */
  readonly onClientEnd?: (complete: boolean) => void
}

/** The relay writing into each sink (a client response), for `endRelayWithError`. */
const relays = new WeakMap<object, (message: string) => void>()

/**
 * Ends the stream being relayed into `sink` (a client response) with an in-band error in its
 * dialect, the upstream call aborted, as an idle timeout does; the server uses it for the streams
 * still running when its shutdown grace ends. False when nothing is relayed into `sink`.
 */
export const endRelayWithError = (sink: object, message: string): boolean => {
  const end = relays.get(sink)
  if (end === undefined) return false
  end(message)
  return true
}

/** After a complete answer, how long a trailing upstream body may take to end before it is aborted. */
const DRAIN_GRACE_MS = 5_000

const toSseEvent = (message: EventSourceMessage): SseEvent =>
  message.event === undefined ? { data: message.data } : { event: message.event, data: message.data }

/**
 * The stream commit contract (docs/ARCHITECTURE.md, "Stream commit contract"), driven by the
 * upstream body's own events.
 * Reads upstream events until the first meaningful one, within the time-to-first-token timeout;
 * any failure up to there fails the effect (nothing has reached the client), so the caller can
 * fail over. Succeeds with a `LiveStream`: the frames already produced, then the rest relayed as
 * they arrive, with backpressure. After commit nothing is retried: a cut, a stall past the idle
 * timeout (the upstream client's body timeout) or a malformed frame ends the client stream with
 * an in-band error, never a silent success. Interrupting the effect aborts the upstream call.
 *
 * Plain callbacks rather than an Effect `Stream`: a stream step costs tens of microseconds, paid
 * for every relayed frame of every answer.
 */
export const commitStream = (
  upstream: UpstreamStream,
  codec: StreamCodec,
  firstTokenTimeout: Duration.Duration,
  origin: Origin,
  hooks: CommitHooks,
): Effect.Effect<LiveStream, UpstreamTransportError> =>
  Effect.async<LiveStream, UpstreamTransportError>((resume) => {
    const body = upstream.body
    /**
     * opening: before commit · committed: waiting for `relayTo` · relaying · rescuing: the
     * upstream failed and a continuation is sought · handedOff: a continuation relays into the
     * client · finished
     */
    let phase: "opening" | "committed" | "relaying" | "rescuing" | "handedOff" | "finished" = "opening"
    let pending = ""
    let sink: StreamSink | undefined
    let drainTimer: ReturnType<typeof setTimeout> | undefined
    let upstreamDone = false
    let rescue: Rescue | undefined
    let continuation: LiveStream | undefined

    const failed = (reason: UpstreamTransportError["reason"], message: string) =>
      new UpstreamTransportError({ provider: origin.provider, model: origin.model, reason, message })
    const errorFrame = (message: string, timedOut = false): string =>
      codec
        .errorFrames({
          kind: timedOut ? "timeout" : "server",
          message,
          status: timedOut ? 504 : 502,
          code: timedOut ? "upstream_timeout" : "upstream_stream_error",
        })
        .join("")

    const detach = () => {
      clearTimeout(firstTokenTimer)
      body.off("data", onData)
      body.off("end", onEnd)
      body.off("error", onError)
    }

    /** Before commit: nothing was sent, the caller may fail over. */
    const fail = (error: UpstreamTransportError) => {
      phase = "finished"
      detach()
      upstream.abort()
      resume(Effect.fail(error))
    }

    let awaitingDrain = false
    const resumeIfRelaying = () => {
      awaitingDrain = false
      if (phase === "relaying") body.resume()
    }
    const waitForDrain = (target: StreamSink) => {
      body.pause()
      if (awaitingDrain) return
      awaitingDrain = true
      target.once("drain", resumeIfRelaying)
    }
    const out = (text: string) => {
      if (text === "") return
      hooks.observe?.(text)
      if (sink === undefined) {
        pending += text
        return
      }
      if (!sink.write(text)) waitForDrain(sink)
    }

    /** This upstream's part is over: stop reading it (a complete body may end on its own) and account for it. */
    const endUpstream = (outcome: StreamOutcome) => {
      if (upstreamDone) return
      upstreamDone = true
      clearTimeout(firstTokenTimer)
      if (!body.readableEnded) {
        // A complete answer whose body has not ended yet: let it end (the connection stays
        // reusable), but not forever.
        if (outcome.complete) {
          drainTimer = setTimeout(upstream.abort, DRAIN_GRACE_MS).unref()
          body.resume()
        } else {
          detach()
          upstream.abort()
        }
      }
      hooks.onFinish(outcome)
    }
    const endClient = (complete: boolean) => {
      if (phase === "finished") return
      phase = "finished"
      hooks.onClientEnd?.(complete)
      if (sink !== undefined) {
        relays.delete(sink)
        sink.end()
      }
    }
    const finish = (outcome: StreamOutcome) => {
      if (phase === "finished") return
      endUpstream(outcome)
      endClient(outcome.complete)
    }

    /**
     * After commit the stream failed: continued by a rescue when one is possible, else ended with
     * the in-band error (`errorText`), never as a success.
     */
    const failAfterCommit = (message: string, errorText: string) => {
      const found = phase === "committed" || phase === "relaying" ? hooks.rescue?.(codec.transcript(), message) : undefined
      if (found === undefined) {
        out(errorText)
        return finish({ complete: false, error: message })
      }
      phase = "rescuing"
      rescue = found
      endUpstream({ complete: false, error: message, rescued: true })
      found.start((next) => {
        if (phase !== "rescuing" || rescue !== found) return next?.cancel()
        rescue = undefined
        if (next === undefined) {
          out(errorText)
          return endClient(false)
        }
        phase = "handedOff"
        continuation = next
        if (sink !== undefined) next.relayTo(sink)
      })
    }

    /** One codec step after commit. */
    const relay = (step: CodecStep) => {
      out(step.frames.join(""))
      if (step.failure) {
        const { failure } = step
        return failAfterCommit(failure.message, failure.errorFrames.length > 0 ? failure.errorFrames.join("") : errorFrame(failure.message))
      }
      if (step.done) finish({ complete: true })
    }

    const onEvent = (message: EventSourceMessage) => {
      if (phase !== "opening" && phase !== "committed" && phase !== "relaying") return
      const step = codec.step(toSseEvent(message))
      if (phase !== "opening") return relay(step)
      if (step.failure) return fail(failed("malformed", step.failure.message))
      out(step.frames.join(""))
      if (step.done) {
        committed = true
        return finish({ complete: true })
      }
      if (step.meaningful) {
        committed = true
        phase = "committed"
      }
    }
    const parser = createParser({ onEvent })

    /** Hands the stream over once it committed (after the whole network read was parsed). */
    let committed = false
    let handedOver = false
    const handOverIfCommitted = () => {
      if (!committed || handedOver) return
      handedOver = true
      clearTimeout(firstTokenTimer)
      if (phase === "committed") body.pause()
      resume(Effect.succeed(live))
    }

    // undici's body ignores `setEncoding`: decode here (a character may span two reads).
    const decoder = new StringDecoder("utf8")
    function onData(chunk: Buffer) {
      parser.feed(decoder.write(chunk))
      handOverIfCommitted()
    }
    function onEnd() {
      clearTimeout(drainTimer)
      if (upstreamDone) return
      parser.feed(decoder.end())
      parser.reset({ consume: true })
      // The last event, without its closing blank line, may have ended the stream.
      if (upstreamDone) return handOverIfCommitted()
      const last = codec.end()
      if (phase === "opening") {
        if (last.failure) return fail(failed("truncated", last.failure.message))
        if (!last.meaningful) return fail(failed("truncated", "upstream stream ended without any event"))
        out(last.frames.join(""))
        committed = true
        finish({ complete: true })
        return handOverIfCommitted()
      }
      relay(last)
    }
    function onError(error: unknown) {
      if (upstreamDone || phase === "finished") return
      const failure = upstream.bodyError(error)
      if (phase === "opening") return fail(failure)
      failAfterCommit(failure.message, errorFrame(failure.message, failure.reason === "idle_timeout"))
    }

    /** Ends a committed stream from outside (server shutdown) with an in-band error. */
    const endWithError = (message: string) => {
      if (phase === "finished" || phase === "handedOff") return
      rescue?.cancel()
      rescue = undefined
      out(codec.errorFrames({ kind: "overloaded", message, status: 503, code: "gateway_shutting_down" }).join(""))
      finish({ complete: false, error: message, byGateway: true })
    }

    const live: LiveStream = {
      relayTo: (target) => {
        sink = target
        const flowing = pending === "" || target.write(pending)
        pending = ""
        if (phase === "finished") return void target.end()
        if (phase === "handedOff") return continuation!.relayTo(target)
        relays.set(target, endWithError)
        if (phase === "rescuing") return
        phase = "relaying"
        if (flowing) body.resume()
        else waitForDrain(target)
      },
      cancel: () => {
        if (phase === "handedOff") return continuation!.cancel()
        if (phase === "rescuing") {
          rescue?.cancel()
          rescue = undefined
          return endClient(false)
        }
        finish({ complete: false, error: "client disconnected" })
      },
    }

    const firstTokenTimer = setTimeout(() => {
      if (phase !== "opening") return
      fail(failed("first_token_timeout", `upstream sent nothing for ${Duration.format(firstTokenTimeout)} before the first token`))
    }, Duration.toMillis(firstTokenTimeout))

    body.on("data", onData)
    body.on("end", onEnd)
    body.on("error", onError)

    return Effect.sync(() => {
      if (phase === "opening") {
        phase = "finished"
        detach()
        upstream.abort()
      }
    })
  })
