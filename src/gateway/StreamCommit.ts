import type { Sse } from "@effect/experimental"
import { Chunk, Duration, Effect, Option, Stream } from "effect"
import { UpstreamTransportError } from "./GatewayError.js"
import type { CodecStep, StreamCodec } from "./StreamCodec.js"

interface Origin {
  readonly provider: string
  readonly model: string
}

export interface StreamOutcome {
  readonly complete: boolean
  readonly error?: string
}

const encoder = new TextEncoder()

/** What the client has been sent by the time the stream commits. */
interface Committed {
  readonly head: string
  /** The upstream ended the answer before or with the commit: nothing more to relay. */
  readonly finished: boolean
}

/**
 * The stream commit contract (ARCHITECTURE.md §3). Pulls upstream events until the first
 * meaningful one, within the time-to-first-token timeout; any failure up to there is returned as
 * an error so the caller can fail over. Succeeds with the client stream: the frames already
 * produced, then the rest relayed as they arrive. After commit nothing is retried: a cut, a stall
 * past the idle timeout (the upstream client's body timeout) or a malformed frame ends the stream
 * with an in-band error, never a silent success. Requires a scope that lives as long as the
 * client stream (the request scope).
 */
export const commitStream = (
  events: Stream.Stream<Sse.Event, UpstreamTransportError>,
  codec: StreamCodec,
  firstTokenTimeout: Duration.Duration,
  origin: Origin,
  onFinish: (outcome: StreamOutcome) => Effect.Effect<void>,
) =>
  Effect.gen(function* () {
    const pull = yield* Stream.toPull(events)
    const failed = (reason: UpstreamTransportError["reason"], message: string) =>
      new UpstreamTransportError({ provider: origin.provider, model: origin.model, reason, message })

    /** The next batch of upstream events, or `None` at the end of the upstream stream. */
    const next = Effect.catchAll(Effect.map(pull, Option.some), (error) =>
      Option.isNone(error) ? Effect.succeed(Option.none<Chunk.Chunk<Sse.Event>>()) : Effect.fail(error.value),
    )

    let outcome: StreamOutcome = { complete: false }
    const errorFrame = (message: string, timedOut = false): string =>
      codec
        .errorFrames({
          kind: timedOut ? "timeout" : "server",
          message,
          status: timedOut ? 504 : 502,
          code: timedOut ? "upstream_timeout" : "upstream_stream_error",
        })
        .join("")
    /** One codec step after commit: its frames, and whether the stream ends there. */
    const relay = (step: CodecStep): { readonly text: string; readonly stop: boolean } => {
      if (step.failure) {
        outcome = { complete: false, error: step.failure.message }
        return { text: step.frames.join("") + (step.failure.reported ? "" : errorFrame(step.failure.message)), stop: true }
      }
      if (step.done) outcome = { complete: true }
      return { text: step.frames.join(""), stop: step.done === true }
    }
    const relayAll = (batch: ReadonlyArray<Sse.Event>): { readonly text: string; readonly stop: boolean } => {
      let text = ""
      for (const event of batch) {
        const out = relay(codec.step(event))
        text += out.text
        if (out.stop) return { text, stop: true }
      }
      return { text, stop: false }
    }

    // Before commit: nothing has reached the client, so every failure may fail over.
    const commit: Effect.Effect<Committed, UpstreamTransportError> = Effect.gen(function* () {
      let head = ""
      for (;;) {
        const batch = yield* next
        if (Option.isNone(batch)) {
          const last = codec.end()
          if (last.failure) return yield* failed("truncated", last.failure.message)
          if (!last.meaningful) return yield* failed("truncated", "upstream stream ended without any event")
          outcome = { complete: true }
          return { head: head + last.frames.join(""), finished: true }
        }
        const items = Chunk.toReadonlyArray(batch.value)
        for (let i = 0; i < items.length; i++) {
          const step = codec.step(items[i]!)
          if (step.failure) return yield* failed("malformed", step.failure.message)
          head += step.frames.join("")
          if (step.done) {
            outcome = { complete: true }
            return { head, finished: true }
          }
          if (step.meaningful) {
            const rest = relayAll(items.slice(i + 1))
            return { head: head + rest.text, finished: rest.stop }
          }
        }
      }
    })
    const committed = yield* commit.pipe(
      Effect.timeoutFail({
        duration: firstTokenTimeout,
        onTimeout: () =>
          failed("first_token_timeout", `upstream sent nothing for ${Duration.format(firstTokenTimeout)} before the first token`),
      }),
    )

    // After commit: relay batch by batch, ending with an in-band error on any failure.
    const rest: Stream.Stream<Uint8Array> = Stream.unfoldEffect(committed.finished, (stopped) =>
      stopped
        ? Effect.succeed(Option.none())
        : Effect.match(next, {
            onFailure: (error) => {
              outcome = { complete: false, error: error.message }
              return Option.some([errorFrame(error.message, error.reason === "idle_timeout"), true] as const)
            },
            onSuccess: (batch) => {
              if (Option.isNone(batch)) return Option.some([relay(codec.end()).text, true] as const)
              const out = relayAll(Chunk.toReadonlyArray(batch.value))
              return Option.some([out.text, out.stop] as const)
            },
          }),
    ).pipe(
      Stream.filter((text) => text.length > 0),
      Stream.map((text) => encoder.encode(text)),
    )

    return Stream.make(encoder.encode(committed.head)).pipe(
      Stream.concat(rest),
      Stream.ensuringWith((exit) => onFinish(exit._tag === "Success" ? outcome : { complete: false, error: "client disconnected" })),
    )
  })
