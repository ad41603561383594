import type { ErrorInfo, SseEvent, UsageDelta } from "../protocol/Canonical.js"
import type { Transcript } from "../protocol/Transcript.js"

/** What one upstream event means for the client stream. */
export interface CodecStep {
  /** SSE text to write to the client, in the client's dialect (may be empty). */
  readonly frames: ReadonlyArray<string>
  /** The upstream signalled a complete answer (`[DONE]`, `message_stop`, `response.completed` …). */
  readonly done?: boolean
  /**
   * The stream failed here: an in-band upstream error, a malformed event, a cut. `errorFrames`:
   * the in-band error in the client's dialect as the upstream put it (empty: the gateway words
   * it). They are kept apart from `frames`: after commit the answer may be continued instead.
   */
  readonly failure?: { readonly message: string; readonly status?: number; readonly errorFrames: ReadonlyArray<string> }
  /** The upstream has produced something meaningful: the stream may commit. */
  readonly meaningful: boolean
}

/**
 * A stateful translation of one upstream SSE stream into client frames, one per attempt. The
 * commit logic (`StreamCommit`) drives it; the protocol layer does the dialect work.
 */
export interface StreamCodec {
  readonly step: (event: SseEvent) => CodecStep
  /** The upstream body ended: closing frames, or a failure when the answer was cut short. */
  readonly end: () => CodecStep
  /** In-band error frames in the client's dialect, ending the stream after commit. */
  readonly errorFrames: (error: ErrorInfo) => ReadonlyArray<string>
  /** Usage seen so far (also for aborted streams). */
  readonly usage: () => UsageDelta
  /** Unreadable upstream frames skipped (a few are; see `MAX_SKIPPED_FRAMES`). */
  readonly skippedFrames: () => number
  /** What the client has been sent, for a continuation elsewhere. */
  readonly transcript: () => Transcript
}
