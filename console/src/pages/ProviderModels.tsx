import { useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { Provider, ProviderMetrics } from "../api/Types.js"
import { Notice, useSubmit } from "../Controls.js"
import { parseModelList } from "../providers/ProviderEdits.js"
import { discoveryText } from "../providers/ProviderStatusText.js"

/**
 * A provider's models: the list in use (static, or discovered from its models endpoint, with the
 * last discovery's result), and the static list to set — empty: discover (PUT …/models, aliases
 * kept as they are).
 */
export const ProviderModels = ({
  session,
  provider,
  metrics,
  now,
  onChanged,
}: {
  readonly session: Session
  readonly provider: Provider
  readonly metrics: ProviderMetrics | undefined
  readonly now: number
  readonly onChanged: (message: string) => void
}) => {
  const [text, setText] = useState((provider.models ?? []).join("\n"))
  const save = useSubmit(async () => {
    const models = parseModelList(text)
    await session.request<Provider>("PUT", `/providers/${encodeURIComponent(provider.id)}/models`, {
      models: models.length === 0 ? null : models,
      aliases: provider.aliases,
    })
    setText(models.join("\n"))
    onChanged(
      models.length === 0
        ? `Provider ${provider.id} now discovers its models.`
        : `Static models of ${provider.id} saved (${models.length}).`,
    )
  })
  const inUse = metrics?.discovery.models
  const aliases = Object.entries(provider.aliases)
  return (
    <div class="card">
      <h3>Models</h3>
      <dl class="facts">
        <dt>Source</dt>
        <dd>{provider.models === null ? "discovered from the provider" : "static list"}</dd>
        <dt>Last discovery</dt>
        <dd>{metrics === undefined ? "…" : discoveryText(metrics.discovery.source, metrics.discovery.last, now)}</dd>
        {aliases.length === 0 ? null : (
          <>
            <dt>Aliases</dt>
            <dd>{aliases.map(([alias, model]) => `${alias} → ${model}`).join(", ")}</dd>
          </>
        )}
      </dl>
      <h4>In use{inUse == null ? "" : ` (${inUse.length})`}</h4>
      {metrics === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : inUse == null || inUse.length === 0 ? (
        <p class="hint">No model known: set a static list, or fix the provider's discovery.</p>
      ) : (
        <ul class="models" aria-label={`Models of ${provider.id} in use`}>
          {inUse.map((model) => (
            <li key={model}>
              <code>{model}</code>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={save.submit} aria-label={`Static models of ${provider.id}`}>
        <div class="field">
          <label for={`static-models-${provider.id}`}>Static models</label>
          <textarea
            id={`static-models-${provider.id}`}
            rows={4}
            value={text}
            spellcheck={false}
            aria-describedby={`static-models-${provider.id}-hint`}
            onInput={(event) => setText(event.currentTarget.value)}
          />
          <small id={`static-models-${provider.id}-hint`} class="hint">
            One per line (or comma-separated); empty: discover them from the provider
          </small>
        </div>
        {save.error === undefined ? null : <Notice kind="error">{save.error}</Notice>}
        <button type="submit" disabled={save.busy}>
          Save models
        </button>
      </form>
    </div>
  )
}
