import { type CommitState, detach, endSink, out, relays } from "./CommitState.js"
import type { StreamOutcome } from "./StreamCommit.js"

/** After a complete answer, how long a trailing upstream body may take to end before it is aborted. */
const DRAIN_GRACE_MS = 5_000

/** This upstream's part is over: stop reading it (a complete body may end on its own) and account for it. */
export const endUpstream = (s: CommitState, outcome: StreamOutcome) => {
  if (s.upstreamDone) return
  s.upstreamDone = true
  clearTimeout(s.firstTokenTimer)
  if (!s.upstream.body.readableEnded) {
    // A complete answer whose body has not ended yet: let it end (the connection stays
    // reusable), but not forever.
    if (outcome.complete) {
      s.drainTimer = setTimeout(s.upstream.abort, DRAIN_GRACE_MS).unref()
      s.upstream.body.resume()
    } else {
      detach(s)
      s.upstream.abort()
    }
  }
  s.hooks.onFinish(outcome)
}

/** The client's stream ends here (once for the whole chain of continuations). */
export const endClient = (s: CommitState, complete: boolean) => {
  if (s.phase === "finished") return
  s.phase = "finished"
  s.hooks.onClientEnd?.(complete)
  if (s.sink !== undefined) {
    relays.delete(s.sink)
    endSink(s, s.sink)
  }
}

/** Both ends: the upstream's part and the client's stream. */
export const finish = (s: CommitState, outcome: StreamOutcome) => {
  if (s.phase === "finished") return
  endUpstream(s, outcome)
  endClient(s, outcome.complete)
}

/** Ends a committed stream from outside (server shutdown) with an in-band error. */
export const endWithError = (s: CommitState, message: string) => {
  if (s.phase === "finished" || s.phase === "handedOff") return
  s.rescue?.cancel()
  s.rescue = undefined
  out(s, s.codec.errorFrames({ kind: "overloaded", message, status: 503, code: "gateway_shutting_down" }).join(""))
  finish(s, { complete: false, error: message, byGateway: true })
}
