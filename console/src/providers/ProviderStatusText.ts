import type { CircuitState, DiscoveryResult, KeyBackoff, ProviderMetrics } from "../api/Types.js"

/** What the providers page says of a provider's runtime state: pure text, from the metrics' answer. */

/** A duration ahead or behind, rounded for reading: `45 s`, `3 min`, `2 h`, `4 d`. */
export const spanText = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 90) return `${s} s`
  const min = Math.round(s / 60)
  if (min < 90) return `${min} min`
  const h = Math.round(min / 60)
  return h < 36 ? `${h} h` : `${Math.round(h / 24)} d`
}

/** `just now`, `3 min ago`… for a past ISO time. */
export const agoText = (iso: string, now: number): string => {
  const ms = now - Date.parse(iso)
  return Number.isNaN(ms) ? "at an unknown time" : ms < 5000 ? "just now" : `${spanText(ms)} ago`
}

/** `closed`, `half-open`, `open · retry in 25 s`. */
export const circuitText = (circuit: CircuitState): string =>
  circuit.status === "closed"
    ? "closed"
    : circuit.status === "half_open"
      ? "half-open"
      : circuit.retry_after_ms === null
        ? "open"
        : `open · retry in ${spanText(circuit.retry_after_ms)}`

/** The upstreams whose circuit is not closed, worst first (open, then half-open), then by model. */
export const trippedUpstreams = (upstreams: ProviderMetrics["upstreams"]): ProviderMetrics["upstreams"] =>
  upstreams
    .filter((u) => u.circuit.status !== "closed")
    .sort(
      (a, b) =>
        (a.circuit.status === "open" ? 0 : 1) - (b.circuit.status === "open" ? 0 : 1) || a.model.localeCompare(b.model),
    )

/** One line for the list: the provider's circuit and how many of its upstreams are not closed. */
export const circuitSummary = (metrics: ProviderMetrics): string => {
  const tripped = trippedUpstreams(metrics.upstreams).length
  const total = metrics.upstreams.length
  const upstreams =
    total === 0 ? "no upstream yet" : tripped === 0 ? `${total} closed` : `${tripped} of ${total} not closed`
  return `${circuitText(metrics.circuit)} (${upstreams})`
}

/** A key's back-off: `ready`, `backing off · 25 s left (2 failures)`, `provider asked to wait · 10 s left`. */
export const backoffText = (key: KeyBackoff | undefined, now: number): string => {
  if (key === undefined || key.backoff === "none" || key.backoff_until === null) {
    return key !== undefined && key.failures > 0 ? `ready (${failures(key.failures)})` : "ready"
  }
  const left = `${spanText(Date.parse(key.backoff_until) - now)} left`
  return key.backoff === "retry_after"
    ? `provider asked to wait · ${left}`
    : `backing off · ${left} (${failures(key.failures)})`
}

const failures = (n: number) => (n === 1 ? "1 failure" : `${n} failures`)

/** The last discovery: `12 models, 3 min ago` or `failed 1 min ago: HTTP 401: …`. */
export const discoveryText = (
  source: ProviderMetrics["discovery"]["source"],
  last: DiscoveryResult | null,
  now: number,
): string => {
  if (last === null) return source === "static" ? "static list (no discovery)" : "not run yet"
  if (last.error !== null) return `failed ${agoText(last.at, now)}: ${last.error}`
  const count = last.models === 1 ? "1 model" : `${last.models ?? 0} models`
  return `${count}, ${agoText(last.at, now)}${source === "static" ? " (a static list is in use)" : ""}`
}
