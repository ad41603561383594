import { Duration, Effect } from "effect"
import type { UpstreamTransportError } from "../shared/UpstreamFailure.js"
import { finish } from "./CommitFinish.js"
import { liveStreamOf } from "./CommitRelay.js"
import { type CommitState, detach, out, transportError } from "./CommitState.js"
import type { CodecStep } from "./StreamCodec.js"

/** Before commit: nothing was sent, the caller may fail over. */
export const failBeforeCommit = (s: CommitState, error: UpstreamTransportError) => {
  s.phase = "finished"
  detach(s)
  s.upstream.abort()
  s.resume(Effect.fail(error))
}

/** One codec step before commit: a failure fails the call; the first meaningful event commits. */
export const openingStep = (s: CommitState, step: CodecStep) => {
  if (step.failure) return failBeforeCommit(s, transportError(s, "malformed", step.failure.message))
  out(s, step.frames.join(""))
  if (step.done) {
    s.committed = true
    return finish(s, { complete: true })
  }
  if (step.meaningful) {
    s.committed = true
    s.phase = "committed"
  }
}

/** The body ended before commit: a short complete answer commits; anything else fails the call. */
export const openingEnd = (s: CommitState, last: CodecStep) => {
  if (last.failure) return failBeforeCommit(s, transportError(s, "truncated", last.failure.message))
  if (!last.meaningful)
    return failBeforeCommit(s, transportError(s, "truncated", "upstream stream ended without any event"))
  out(s, last.frames.join(""))
  s.committed = true
  finish(s, { complete: true })
  handOverIfCommitted(s)
}

/** Hands the stream over once it committed (after the whole network read was parsed). */
export const handOverIfCommitted = (s: CommitState) => {
  if (!s.committed || s.handedOver) return
  s.handedOver = true
  clearTimeout(s.firstTokenTimer)
  if (s.phase === "committed") s.upstream.body.pause()
  s.resume(Effect.succeed(liveStreamOf(s)))
}

/** Starts the time-to-first-token clock: an upstream still opening when it runs out fails the call. */
export const startFirstTokenTimer = (s: CommitState, firstTokenTimeout: Duration.Duration) => {
  s.firstTokenTimer = setTimeout(() => {
    if (s.phase !== "opening") return
    const message = `upstream sent nothing for ${Duration.format(firstTokenTimeout)} before the first token`
    failBeforeCommit(s, transportError(s, "first_token_timeout", message))
  }, Duration.toMillis(firstTokenTimeout))
}

/** The `commitStream` effect was interrupted: a call still opening is aborted. */
export const abortIfOpening = (s: CommitState) => {
  if (s.phase === "opening") {
    s.phase = "finished"
    detach(s)
    s.upstream.abort()
  }
}
