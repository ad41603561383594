import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as Resource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import * as Otel from "@opentelemetry/api"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { resourceFromAttributes } from "@opentelemetry/resources"
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base"
import { Context, Effect, Layer, Redacted } from "effect"
import type { SamplerName, TracingSettings } from "../config/TracingConfig.js"
import { warnOnFailedExports } from "./ExportWarnings.js"
import { formatTraceParent, type TraceContext } from "./TraceContext.js"
import { type RequestTracer, spanTime } from "./Tracing.js"

/**
 * The OpenTelemetry SDK behind `Tracing` when tracing is on. A module of its own, imported only
 * then: the SDK, its OTLP exporter and their dependencies are several hundred modules that a
 * gateway without tracing never loads (start time and memory, bench/RESULTS.md).
 */

const samplerOf = (name: SamplerName, ratio: number): Sampler => {
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler()
    case "always_off":
      return new AlwaysOffSampler()
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio)
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() })
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() })
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) })
  }
}

/** `traceparent` (and `tracestate`, when there is one) naming `context` as the parent. */
const propagationHeaders = (context: Otel.SpanContext): Readonly<Record<string, string>> => {
  const traceparent = formatTraceParent(context.traceId, context.spanId, context.traceFlags)
  const tracestate = context.traceState?.serialize()
  return tracestate === undefined || tracestate === "" ? { traceparent } : { traceparent, tracestate }
}

/** The client's span as the remote parent of the server span. */
const remoteParent = (parent: TraceContext): Otel.Context =>
  Otel.trace.setSpanContext(Otel.ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.traceFlags,
    isRemote: true,
    ...(parent.traceState === undefined ? {} : { traceState: Otel.createTraceState(parent.traceState) }),
  })

/**
 * Spans are made with the OpenTelemetry API, not Effect's tracer: a stream's spans outlive the
 * Effect that opened them, and running a request under `@effect/opentelemetry`'s Effect tracer
 * (so that `Effect.withSpan`s inside it nest) makes every Effect operation of the request switch
 * OpenTelemetry contexts — measured, +0.3 ms of CPU per request; the two spans and their export cost under 0.1 ms.
 */
export const makeRequestTracer = (tracer: Otel.Tracer): RequestTracer => ({
  start: (name, operation, parent, attributes) => {
    const span = tracer.startSpan(
      name,
      { kind: Otel.SpanKind.SERVER, attributes, startTime: spanTime() },
      parent === undefined ? Otel.ROOT_CONTEXT : remoteParent(parent),
    )
    const asParent = Otel.trace.setSpan(Otel.ROOT_CONTEXT, span)
    return {
      span,
      operation,
      call: (callName, callAttributes) => {
        const child = tracer.startSpan(
          callName,
          { kind: Otel.SpanKind.CLIENT, attributes: callAttributes, startTime: spanTime() },
          asParent,
        )
        return { span: child, headers: propagationHeaders(child.spanContext()) }
      },
    }
  },
})

/** `service.name` from OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES, else `apiproxy`; the other resource attributes as set. */
const ResourceLive = Layer.effect(
  Resource.Resource,
  Effect.map(Resource.Resource, (fromEnv) => resourceFromAttributes({ "service.name": "apiproxy" }).merge(fromEnv)),
).pipe(Layer.provide(Resource.layerFromEnv()))

/** At most one warning about failed exports per minute. */
const EXPORT_WARNING_INTERVAL_MS = 60_000

/** The SDK: OTLP/HTTP exporter behind a batch processor (bounded queue), the sampler, flushed on shutdown. */
const sdkLayer = (settings: TracingSettings, warn: (message: string, failed: number) => void) =>
  OtelTracer.layerTracer.pipe(
    Layer.provideMerge(
      Layer.unwrapEffect(
        Effect.sync(() => {
          const exporter = new OTLPTraceExporter({
            url: settings.url,
            headers: { ...Redacted.value(settings.headers) },
            ...(settings.timeoutMillis === undefined ? {} : { timeoutMillis: settings.timeoutMillis }),
          })
          const processor = new BatchSpanProcessor(
            warnOnFailedExports(exporter, warn, EXPORT_WARNING_INTERVAL_MS),
            settings.batch,
          )
          return NodeSdk.layerTracerProvider(processor, { sampler: samplerOf(settings.sampler, settings.samplerRatio) })
        }),
      ),
    ),
    Layer.provideMerge(ResourceLive),
  )

/** The SDK for `settings`, closed (spans flushed) with the scope, and the request tracer on it. */
export const requestTracer = (settings: TracingSettings, warn: (message: string, failed: number) => void) =>
  Effect.map(Layer.build(sdkLayer(settings, warn)), (sdk) => makeRequestTracer(Context.get(sdk, OtelTracer.OtelTracer)))
