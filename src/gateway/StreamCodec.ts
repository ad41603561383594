import type { Sse } from "@effect/experimental"

/** Token usage as the gateway meters it, whatever the dialect called it. */
export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens?: number
  readonly reasoningTokens?: number
}

/** What one upstream event means for the client stream. */
export interface CodecStep {
  /** SSE text to write to the client, in the client's dialect (may be empty). */
  readonly frames: ReadonlyArray<string>
  /** The upstream signalled a complete answer (e.g. `[DONE]`, `message_stop`, `response.completed`). */
  readonly done?: boolean
  /** The event is not usable (malformed JSON, an in-band upstream error): the stream must fail. */
  readonly failure?: { readonly message: string; readonly status?: number }
  /** The event carried meaningful content: the stream may commit on it. */
  readonly meaningful?: boolean
}

/**
 * A stateful translation of one upstream SSE stream into client frames. One instance per
 * attempt; `step` is called for each upstream event in order.
 */
export interface StreamCodec {
  readonly step: (event: Sse.Event) => CodecStep
  /**
   * The upstream stream ended (with or without its terminator). Returns the closing frames when
   * the answer is complete, or a failure when it was cut short.
   */
  readonly end: () => CodecStep
  /** In-band error frames in the client's dialect, ending the stream after commit. */
  readonly errorFrames: (error: { readonly message: string; readonly type: string; readonly code: string | null }) => ReadonlyArray<string>
  readonly usage: () => Usage | undefined
}
