import { finish } from "./CommitFinish.js"
import { abandonRescue, failAfterCommit } from "./CommitRescueHandOff.js"
import { type CommitState, endSink, errorFrame, out, relays, waitForDrain } from "./CommitState.js"
import type { CodecStep } from "./StreamCodec.js"
import type { LiveStream, StreamSink } from "./StreamCommit.js"

/** One codec step after commit: its frames to the client, then the failure or the end it may carry. */
export const relayStep = (s: CommitState, step: CodecStep) => {
  out(s, step.frames.join(""))
  if (step.failure) {
    const { failure } = step
    return failAfterCommit(
      s,
      failure.message,
      failure.errorFrames.length > 0 ? failure.errorFrames.join("") : errorFrame(s, failure.message),
    )
  }
  if (step.done) finish(s, { complete: true })
}

/** Writes what was produced before the sink came, then relays into it (or passes it to the continuation). */
const relayTo = (s: CommitState, target: StreamSink) => {
  s.sink = target
  const flowing = s.pending === "" || target.write(s.pending)
  s.pending = ""
  if (s.phase === "finished") return endSink(s, target)
  if (s.phase === "handedOff") return s.continuation!.relayTo(target)
  relays.set(target, s.endWithError)
  if (s.phase === "rescuing") return
  s.phase = "relaying"
  if (flowing) s.upstream.body.resume()
  else waitForDrain(s, target)
}

/** The client went away: stop relaying and abort the upstream call (or the continuation, or its search). */
const cancel = (s: CommitState) => {
  if (s.phase === "handedOff") return s.continuation!.cancel()
  if (s.phase === "rescuing") return abandonRescue(s)
  finish(s, { complete: false, error: "client disconnected" })
}

/** The committed stream as the edge holds it. */
export const liveStreamOf = (s: CommitState): LiveStream => ({
  relayTo: (target) => relayTo(s, target),
  cancel: () => cancel(s),
})
