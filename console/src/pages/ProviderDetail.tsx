import type { Session } from "../api/Session.js"
import type { Provider, ProviderHealth, ProviderMetrics } from "../api/Types.js"
import { agoText, circuitText, trippedUpstreams } from "../providers/ProviderStatusText.js"
import type { Loaded } from "../providers/useProviderStatus.js"
import { HealthBadge, StatusSummary } from "./ProviderHealth.js"
import { ProviderModels } from "./ProviderModels.js"
import { ProviderPrices } from "./ProviderPrices.js"
import { ProviderSettings } from "./ProviderSettings.js"

/** Each upstream's circuit: those not closed listed, the closed ones counted. */
const Upstreams = ({ metrics }: { readonly metrics: ProviderMetrics }) => {
  const tripped = trippedUpstreams(metrics.upstreams)
  const closed = metrics.upstreams.length - tripped.length
  return (
    <>
      <dl class="facts">
        <dt>Provider status</dt>
        <dd>{metrics.status}</dd>
        <dt>Connection circuit</dt>
        <dd>{circuitText(metrics.connection_circuit)}</dd>
        <dt>Upstream circuits</dt>
        <dd>
          {metrics.upstreams.length === 0
            ? "no upstream yet"
            : `${closed} of ${metrics.upstreams.length} closed${tripped.length === 0 ? "" : `, ${tripped.length} not`}`}
        </dd>
      </dl>
      {tripped.length === 0 ? null : (
        <ul class="plain" aria-label="Upstreams whose circuit is not closed">
          {tripped.map((upstream) => (
            <li key={upstream.model}>
              <code>{upstream.model}</code>: <span class="badge down">{circuitText(upstream.circuit)}</span>
            </li>
          ))}
        </ul>
      )}
    </>
  )
}

/**
 * One provider in full: its live health (probe, circuits of the provider and each upstream, last
 * discovery), its settings (edit, enable/disable, custom headers), models and price overrides.
 */
export const ProviderDetail = ({
  session,
  provider,
  metrics,
  health,
  updatedAt,
  now,
  onProbe,
  onChanged,
  onClose,
}: {
  readonly session: Session
  readonly provider: Provider
  readonly metrics: Loaded<ProviderMetrics> | undefined
  readonly health: Loaded<ProviderHealth> | undefined
  readonly updatedAt: number | undefined
  readonly now: number
  readonly onProbe: () => void
  readonly onChanged: (message: string) => void
  readonly onClose: () => void
}) => {
  const loaded = metrics?._tag === "Loaded" ? metrics.value : undefined
  const suggestions = [...(loaded?.discovery.models ?? provider.models ?? []), "*"]
  return (
    <section class="provider-detail" aria-labelledby="provider-detail-title">
      <div class="detail-head">
        <h2 id="provider-detail-title">
          Provider {provider.id}
          {provider.name === provider.id ? "" : ` (${provider.name})`}
        </h2>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      <div class="card">
        <h3>Health</h3>
        <p>
          Probe: <HealthBadge health={health} />{" "}
          <button type="button" class="link" onClick={onProbe} aria-label={`Probe now: ${provider.id}`}>
            Probe now
          </button>
        </p>
        <StatusSummary metrics={metrics} now={now} />
        {loaded === undefined ? null : <Upstreams metrics={loaded} />}
        <p class="hint">
          Refreshed every 10 s
          {updatedAt === undefined ? "" : `; last ${agoText(new Date(updatedAt).toISOString(), now)}`}.
        </p>
      </div>
      <ProviderSettings session={session} provider={provider} onChanged={onChanged} />
      <ProviderModels session={session} provider={provider} metrics={loaded} now={now} onChanged={onChanged} />
      <ProviderPrices session={session} provider={provider} models={suggestions} onChanged={onChanged} />
    </section>
  )
}
