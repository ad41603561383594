import { useCallback, useEffect, useMemo, useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { KeyBackoff, Provider } from "../api/Types.js"
import { messageOf, Notice } from "../Controls.js"
import { useProviderStatus } from "../providers/useProviderStatus.js"
import { AddProvider } from "./AddProvider.js"
import { ProviderDetail } from "./ProviderDetail.js"
import { HealthBadge, StatusSummary } from "./ProviderHealth.js"
import { ProviderKeys } from "./ProviderKeys.js"

const NO_BACKOFF: ReadonlyMap<string, KeyBackoff> = new Map()

/**
 * The providers: each with its live health (probe, circuit, last discovery) and keys; one opened
 * in full (`ProviderDetail`) to edit, disable, and set its models and prices; and a form to add one.
 */
export const Providers = ({ session }: { readonly session: Session }) => {
  const [providers, setProviders] = useState<ReadonlyArray<Provider> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [changed, setChanged] = useState<string | undefined>(undefined)
  const [opened, setOpened] = useState<string | undefined>(undefined)
  const ids = useMemo(() => (providers ?? []).map((provider) => provider.id), [providers])
  const status = useProviderStatus(session, ids)

  const load = useCallback(() => {
    session.request<ReadonlyArray<Provider>>("GET", "/providers").then(
      (list) => {
        setProviders(list)
        setError(undefined)
      },
      (failure) => setError(messageOf(failure)),
    )
  }, [session])

  useEffect(load, [load])

  const onChanged = (message: string, id?: string) => {
    setChanged(message)
    load()
    if (id !== undefined) void status.refreshMetrics(id)
  }

  const now = Date.now()
  const detail = providers?.find((provider) => provider.id === opened)
  return (
    <section aria-labelledby="providers-title">
      <h1 id="providers-title">Providers</h1>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      {changed === undefined ? null : <Notice kind="ok">{changed}</Notice>}
      {providers === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : providers.length === 0 ? (
        <p>No provider yet: add one below.</p>
      ) : (
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">Providers, their health and keys</caption>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Protocol</th>
                <th scope="col">Base URL</th>
                <th scope="col">Health</th>
                <th scope="col">Keys</th>
              </tr>
            </thead>
            <tbody>
              {providers.map((provider) => {
                const metrics = status.metrics[provider.id]
                const backoff =
                  metrics?._tag === "Loaded" ? new Map(metrics.value.keys.map((key) => [key.id, key])) : NO_BACKOFF
                return (
                  <tr key={provider.id}>
                    <th scope="row">
                      {provider.id}
                      {provider.name !== provider.id ? <div class="hint">{provider.name}</div> : null}
                      {provider.enabled ? null : <div class="badge down">disabled</div>}
                      <div>
                        <button
                          type="button"
                          class="link"
                          aria-expanded={opened === provider.id}
                          aria-controls="provider-detail"
                          onClick={() => setOpened(opened === provider.id ? undefined : provider.id)}
                          aria-label={`Manage ${provider.id}`}
                        >
                          Manage
                        </button>
                      </div>
                    </th>
                    <td data-label="Protocol">{provider.protocol}</td>
                    <td class="url" data-label="Base URL">
                      {provider.base_url}
                    </td>
                    <td data-label="Health">
                      <HealthBadge health={status.health[provider.id]} />{" "}
                      <button
                        type="button"
                        class="link"
                        onClick={() => void status.probe(provider.id)}
                        aria-label={`Recheck the health of ${provider.id}`}
                      >
                        Recheck
                      </button>
                      <StatusSummary metrics={metrics} now={now} />
                    </td>
                    <td data-label="Keys">
                      <ProviderKeys
                        session={session}
                        provider={provider}
                        backoff={backoff}
                        now={now}
                        onChanged={(message) => onChanged(message, provider.id)}
                      />
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
      <div id="provider-detail">
        {detail === undefined ? null : (
          <ProviderDetail
            key={detail.id}
            session={session}
            provider={detail}
            metrics={status.metrics[detail.id]}
            health={status.health[detail.id]}
            updatedAt={status.updatedAt}
            now={now}
            onProbe={() => void status.probe(detail.id)}
            onChanged={(message) => onChanged(message, detail.id)}
            onClose={() => setOpened(undefined)}
          />
        )}
      </div>
      <AddProvider
        session={session}
        onAdded={(id) => {
          setChanged(`Provider ${id} added.`)
          load()
        }}
      />
    </section>
  )
}
