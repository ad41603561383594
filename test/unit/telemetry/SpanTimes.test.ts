import type { HrTime } from "@opentelemetry/api"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "vitest"
import { endSpan } from "../../../src/telemetry/Tracing.js"
import { makeRequestTracer } from "../../../src/telemetry/TracingSdk.js"

const nanos = ([seconds, fraction]: HrTime) => BigInt(seconds) * 1_000_000_000n + BigInt(fraction)

/** Spins for about `ms` milliseconds (sub-millisecond waits a timer cannot give). */
const spin = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until);
}

describe("span times", () => {
  it("an upstream call's span lies within its request's span, to the nanosecond, when both start and end within a millisecond", () => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const requests = makeRequestTracer(provider.getTracer("test"))
    // Starts and ends a fraction of a millisecond apart: with the SDK's own clock (the start in
    // whole milliseconds from Date.now, the end a monotonic duration after it), the pairs that
    // straddle a millisecond boundary put the call's end after the request's.
    for (let i = 0; i < 400; i++) {
      const trace = requests.start("POST /v1/chat/completions", "chat", undefined, {})
      spin((i % 7) * 0.05)
      const call = trace.call("chat m", {})
      spin(0.1)
      endSpan(call.span)
      spin((i % 5) * 0.02)
      endSpan(trace.span)
    }
    const spans = exporter.getFinishedSpans()
    expect(spans).toHaveLength(800)
    const outside = spans
      .filter((span) => span.parentSpanContext !== undefined)
      .filter((call) => {
        const request = spans.find((span) => span.spanContext().spanId === call.parentSpanContext!.spanId)!
        return (
          nanos(call.startTime) < nanos(request.startTime) ||
          nanos(call.endTime) > nanos(request.endTime) ||
          nanos(call.endTime) - nanos(call.startTime) < 100_000n
        )
      })
    expect(outside).toEqual([])
  })
})
