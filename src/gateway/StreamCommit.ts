import type { Sse } from "@effect/experimental"
import { Chunk, Duration, Effect, Option, Stream } from "effect"
import { UpstreamTransportError } from "./GatewayError.js"
import type { CodecStep, StreamCodec } from "./StreamCodec.js"

export interface StreamTimeouts {
  readonly firstToken: Duration.Duration
  readonly idle: Duration.Duration
}

interface Origin {
  readonly provider: string
  readonly model: string
}

const encoder = new TextEncoder()

/**
 * The stream commit contract (ARCHITECTURE.md §3). Pulls upstream events until the first
 * meaningful one, within the time-to-first-token timeout; any failure up to there is returned as
 * an error so the caller can fail over. Succeeds with the client stream: the frames already
 * produced, then the rest relayed as they arrive. After commit nothing is retried: a cut, a stall
 * past the idle timeout or a malformed frame ends the stream with an in-band error, never a
 * silent success. Requires a scope that lives as long as the client stream (the request scope).
 */
export const commitStream = (
  events: Stream.Stream<Sse.Event, UpstreamTransportError>,
  codec: StreamCodec,
  timeouts: StreamTimeouts,
  origin: Origin,
  onFinish: (outcome: { readonly complete: boolean; readonly error?: string }) => Effect.Effect<void>,
) =>
  Effect.gen(function* () {
    const pull = yield* Stream.toPull(events)
    const failed = (reason: UpstreamTransportError["reason"], message: string) =>
      new UpstreamTransportError({ provider: origin.provider, model: origin.model, reason, message })

    /** One upstream event, or `None` at the end of the upstream stream. */
    const next = (timeout: Duration.Duration, reason: "first_token_timeout" | "idle_timeout") =>
      pull.pipe(
        Effect.map((chunk) => Option.some(chunk)),
        Effect.catchAll((error) => (Option.isNone(error) ? Effect.succeed(Option.none<Chunk.Chunk<Sse.Event>>()) : Effect.fail(error.value))),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            failed(reason, `upstream sent nothing for ${Duration.format(timeout)}${reason === "first_token_timeout" ? " before the first token" : ""}`),
        }),
      )

    // Before commit: collect frames until the first meaningful event.
    const head: Array<string> = []
    let pending: Array<Sse.Event> = []
    let committed = false
    let finished = false
    while (!committed) {
      const chunk = yield* next(timeouts.firstToken, "first_token_timeout")
      if (Option.isNone(chunk)) {
        const last = codec.end()
        if (last.failure) return yield* failed("truncated", last.failure.message)
        if (!last.meaningful) return yield* failed("truncated", "upstream stream ended without any event")
        head.push(...last.frames)
        finished = true
        break
      }
      const events = Chunk.toReadonlyArray(chunk.value)
      for (let i = 0; i < events.length; i++) {
        const step = codec.step(events[i]!)
        // Before commit nothing has reached the client: any failure may fail over.
        if (step.failure) return yield* failed("malformed", step.failure.message)
        head.push(...step.frames)
        if (step.meaningful) committed = true
        if (step.done) {
          finished = true
          break
        }
        if (committed) {
          pending = events.slice(i + 1)
          break
        }
      }
      if (finished) break
    }

    const errorFrame = (message: string, timedOut = false): string =>
      codec
        .errorFrames({
          kind: timedOut ? "timeout" : "server",
          message,
          status: timedOut ? 504 : 502,
          code: timedOut ? "upstream_timeout" : "upstream_stream_error",
        })
        .join("")

    // After commit: relay, ending with an in-band error on any failure.
    let outcome: { complete: boolean; error?: string } = { complete: finished }
    const relay = (step: CodecStep): { readonly text: string; readonly stop: boolean } => {
      if (step.failure) {
        outcome = { complete: false, error: step.failure.message }
        return { text: step.frames.join("") + (step.failure.reported ? "" : errorFrame(step.failure.message)), stop: true }
      }
      if (step.done) outcome = { complete: true }
      return { text: step.frames.join(""), stop: step.done === true }
    }
    const relayAll = (events: ReadonlyArray<Sse.Event>): { readonly text: string; readonly stop: boolean } => {
      let text = ""
      for (const event of events) {
        const out = relay(codec.step(event))
        text += out.text
        if (out.stop) return { text, stop: true }
      }
      return { text, stop: false }
    }

    const rest: Stream.Stream<Uint8Array> = Stream.unfoldEffect(finished, (stopped) =>
      Effect.gen(function* () {
        if (stopped) return Option.none()
        const chunk = yield* next(timeouts.idle, "idle_timeout").pipe(Effect.either)
        if (chunk._tag === "Left") {
          outcome = { complete: false, error: chunk.left.message }
          return Option.some([errorFrame(chunk.left.message, chunk.left.reason === "idle_timeout"), true] as const)
        }
        if (Option.isNone(chunk.right)) return Option.some([relay(codec.end()).text, true] as const)
        const out = relayAll(Chunk.toReadonlyArray(chunk.right.value))
        return Option.some([out.text, out.stop] as const)
      }),
    ).pipe(
      Stream.filter((text) => text.length > 0),
      Stream.map((text) => encoder.encode(text)),
    )

    const first = relayAll(pending)
    const headText = head.join("") + first.text
    const body = Stream.make(encoder.encode(headText)).pipe(
      Stream.concat(first.stop ? Stream.empty : rest),
      Stream.ensuringWith((exit) =>
        onFinish(exit._tag === "Success" ? outcome : { complete: false, error: "client disconnected" }),
      ),
    )
    return body
  })
