import { endClient, endUpstream, finish } from "./CommitFinish.js"
import { type CommitState, out } from "./CommitState.js"
import type { LiveStream, Rescue } from "./StreamCommit.js"

/**
 * After commit the stream failed: continued by a rescue when one is possible, else ended with
 * the in-band error (`errorText`), never as a success.
 */
export const failAfterCommit = (s: CommitState, message: string, errorText: string) => {
  const found =
    s.phase === "committed" || s.phase === "relaying" ? s.hooks.rescue?.(s.codec.transcript(), message) : undefined
  if (found === undefined) {
    out(s, errorText)
    return finish(s, { complete: false, error: message })
  }
  s.phase = "rescuing"
  s.rescue = found
  endUpstream(s, { complete: false, error: message, rescued: true })
  found.start((next) => handOff(s, found, next, errorText))
}

/** The rescue's answer: the continuation relays into the client from here, or the in-band error ends it. */
const handOff = (s: CommitState, found: Rescue, next: LiveStream | undefined, errorText: string) => {
  if (s.phase !== "rescuing" || s.rescue !== found) return next?.cancel()
  s.rescue = undefined
  if (next === undefined) {
    out(s, errorText)
    return endClient(s, false)
  }
  s.phase = "handedOff"
  s.continuation = next
  if (s.sink !== undefined) next.relayTo(s.sink)
}

/** The client went away (or the gateway ends the stream) while a continuation is sought. */
export const abandonRescue = (s: CommitState) => {
  s.rescue?.cancel()
  s.rescue = undefined
  endClient(s, false)
}
