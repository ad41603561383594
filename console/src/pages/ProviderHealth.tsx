import type { ProviderHealth, ProviderMetrics } from "../api/Types.js"
import { circuitSummary, discoveryText } from "../providers/ProviderStatusText.js"
import type { Loaded } from "../providers/useProviderStatus.js"

/** The active probe's answer: `healthy · 12 ms`, its HTTP status or error in the title. */
export const HealthBadge = ({ health }: { readonly health: Loaded<ProviderHealth> | undefined }) => {
  if (health === undefined || health._tag === "Loading") return <span class="badge">checking…</span>
  if (health._tag === "Failed") return <span class="badge down">{health.message}</span>
  const { status, response_time_ms, http_status, error_message } = health.value
  const detail = error_message ?? (http_status === null ? "" : `HTTP ${http_status}`)
  return (
    <span class={`badge ${status}`} title={detail}>
      {status} · {Math.round(response_time_ms)} ms
    </span>
  )
}

const CIRCUIT_CLASS = { closed: "healthy", half_open: "degraded", open: "down" } as const

/** The list's summary of the metrics: circuit (and upstreams not closed), then the last discovery. */
export const StatusSummary = ({
  metrics,
  now,
}: {
  readonly metrics: Loaded<ProviderMetrics> | undefined
  readonly now: number
}) => {
  if (metrics === undefined || metrics._tag === "Loading") return <span class="hint">loading…</span>
  if (metrics._tag === "Failed") return <span class="badge down">{metrics.message}</span>
  const { circuit, discovery } = metrics.value
  const failed = discovery.last?.error != null
  return (
    <div class="status-summary">
      <div>
        Circuit <span class={`badge ${CIRCUIT_CLASS[circuit.status]}`}>{circuitSummary(metrics.value)}</span>
      </div>
      <div class={failed ? "discovery failed" : "discovery"}>
        Discovery: {discoveryText(discovery.source, discovery.last, now)}
      </div>
    </div>
  )
}
