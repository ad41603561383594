import type * as Otel from "@opentelemetry/api"
import { Effect, Runtime } from "effect"
import { tracingConfig } from "../config/TracingConfig.js"
import type { TraceContext } from "./TraceContext.js"

/**
 * Traces (docs/ARCHITECTURE.md, "Traces"): one server span per data-plane request, a client span
 * per upstream call beneath it, exported over OTLP/HTTP by the OpenTelemetry SDK that
 * `@effect/opentelemetry` wires in (`TracingSdk`, loaded only when tracing is on). Whether tracing
 * is on is decided once, when the layer is built: off (the default), `requests` is `undefined` and callers skip every tracing step — not
 * even a span object is made on the request path.
 */

export type SpanAttributes = Otel.Attributes

/** The span of one outgoing call and the W3C headers that make it the parent of the callee's work. */
export interface OutgoingCall {
  readonly span: Otel.Span
  readonly headers: Readonly<Record<string, string>>
}

/** The trace of one data-plane request, from its arrival to the end of its answer. */
export interface RequestTrace {
  /** The server span (kind server); whoever started it ends it when the response closes. */
  readonly span: Otel.Span
  /** The GenAI operation the client asked for (`gen_ai.operation.name`: chat, embeddings, …). */
  readonly operation: string
  /** Starts a client span beneath the server span: one upstream call. */
  readonly call: (name: string, attributes: SpanAttributes) => OutgoingCall
}

export interface RequestTracer {
  /** Starts the server span of a request, continuing the client's trace when it sent one. */
  readonly start: (
    name: string,
    operation: string,
    parent: TraceContext | undefined,
    attributes: SpanAttributes,
  ) => RequestTrace
}

/**
 * Span times, from one clock: fractional milliseconds since the epoch on the monotonic clock.
 * Left to itself the OpenTelemetry SDK stamps a span's start with `Date.now()` (whole
 * milliseconds) and adds a `performance.now()` duration, so a client span could end up to 1 ms
 * after the server span around it (seen in e2e/tracing under load). Every span is started with
 * `startTime: spanTime()` and ended with `endSpan`.
 */
export const spanTime = (): number => performance.timeOrigin + performance.now()

/** Ends `span` now, on the clock it was started on (`spanTime`). */
export const endSpan = (span: Otel.Span): void => span.end(spanTime())

/** The export URL as logged: no credentials, no query. */
const printable = (url: string) => {
  const parsed = new URL(url)
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
}

export class Tracing extends Effect.Service<Tracing>()("gateway/telemetry/Tracing", {
  scoped: Effect.gen(function* () {
    const settings = yield* tracingConfig
    if (settings === undefined) return { requests: undefined } as { readonly requests: RequestTracer | undefined }
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const warn = (message: string, failed: number) =>
      void runFork(
        Effect.logWarning("could not export spans").pipe(
          Effect.annotateLogs({ failed_exports: failed, reason: message.slice(0, 300) }),
        ),
      )
    const { requestTracer } = yield* Effect.promise(() => import("./TracingSdk.js"))
    const requests = yield* requestTracer(settings, warn)
    yield* Effect.logInfo(`tracing on: spans exported to ${printable(settings.url)} (sampler ${settings.sampler})`)
    return { requests }
  }),
}) {}
