import type { SpanExporter } from "@opentelemetry/sdk-trace-base"

type ExportResult = Parameters<Parameters<SpanExporter["export"]>[1]>[0]

/**
 * `exporter`, with its failed exports reported through `warn` — at most once per `intervalMs`,
 * with how many failed since the last report. The SDK's own diagnostics are silent by default, so
 * a collector that is down or refuses the spans would otherwise go unnoticed; a flood of lines
 * while it is down would drown the rest. Requests never wait for an export either way.
 */
export const warnOnFailedExports = (
  exporter: SpanExporter,
  warn: (message: string, failed: number) => void,
  intervalMs: number,
): SpanExporter => {
  let failed = 0
  let lastWarning = Number.NEGATIVE_INFINITY
  return {
    export: (spans, done) =>
      exporter.export(spans, (result: ExportResult) => {
        if (result.code !== 0) {
          failed++
          const now = Date.now()
          if (now - lastWarning >= intervalMs) {
            lastWarning = now
            warn(result.error?.message ?? "export failed", failed)
            failed = 0
          }
        }
        done(result)
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  }
}
