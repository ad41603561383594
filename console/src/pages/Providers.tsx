import { useCallback, useEffect, useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { Provider, ProviderHealth } from "../api/Types.js"
import { Field, messageOf, Notice, Select, useSubmit } from "../Controls.js"
import { ProviderKeys } from "./ProviderKeys.js"

type Health =
  | { readonly _tag: "Checking" }
  | { readonly _tag: "Checked"; readonly health: ProviderHealth }
  | { readonly _tag: "Failed"; readonly message: string }

const HealthBadge = ({ health }: { readonly health: Health | undefined }) => {
  if (health === undefined || health._tag === "Checking") return <span class="badge">checking…</span>
  if (health._tag === "Failed") return <span class="badge down">{health.message}</span>
  const { status, response_time_ms, http_status, error_message } = health.health
  const detail = error_message ?? (http_status === null ? "" : `HTTP ${http_status}`)
  return (
    <span class={`badge ${status}`} title={detail}>
      {status} · {Math.round(response_time_ms)} ms
    </span>
  )
}

const PROTOCOLS = [
  ["openai", "OpenAI"],
  ["anthropic", "Anthropic"],
  ["gemini", "Gemini"],
] as const

/** Adds a provider with one key. The key field is write-only: cleared once saved, never shown again. */
const AddProvider = ({ session, onAdded }: { readonly session: Session; readonly onAdded: (id: string) => void }) => {
  const [id, setId] = useState("")
  const [name, setName] = useState("")
  const [protocol, setProtocol] = useState("openai")
  const [baseUrl, setBaseUrl] = useState("")
  const [key, setKey] = useState("")
  const [models, setModels] = useState("")
  const { submit, error, busy } = useSubmit(async () => {
    const listed = models
      .split(",")
      .map((model) => model.trim())
      .filter((model) => model !== "")
    await session.request("POST", "/providers", {
      id,
      ...(name.trim() === "" ? {} : { name: name.trim() }),
      protocol,
      base_url: baseUrl.trim(),
      ...(listed.length === 0 ? {} : { models: listed }),
      keys: key === "" ? [] : [{ key, label: "default" }],
    })
    setKey("")
    setId("")
    setName("")
    setBaseUrl("")
    setModels("")
    onAdded(id)
  })
  return (
    <form class="card" onSubmit={submit} aria-labelledby="add-provider-title" autocomplete="off">
      <h2 id="add-provider-title">Add a provider</h2>
      <div class="grid">
        <Field
          label="Id"
          value={id}
          onValue={setId}
          required
          pattern="[a-z0-9][a-z0-9._\-]{0,49}"
          hint="a-z 0-9 . _ - (lower case), as in provider/model"
        />
        <Field label="Name" value={name} onValue={setName} hint="Optional; the id when empty" />
        <Select label="Protocol" value={protocol} onValue={setProtocol} options={PROTOCOLS} />
        <Field
          label="Base URL"
          type="url"
          value={baseUrl}
          onValue={setBaseUrl}
          required
          placeholder="https://api.example.com/v1"
        />
        <Field
          label="API key"
          type="password"
          value={key}
          onValue={setKey}
          autocomplete="new-password"
          spellcheck={false}
          hint="Write-only: stored encrypted, shown masked afterwards"
        />
        <Field
          label="Models"
          value={models}
          onValue={setModels}
          hint="Comma-separated; empty: discovered from the provider"
        />
      </div>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      <button type="submit" disabled={busy}>
        {busy ? "Adding…" : "Add provider"}
      </button>
    </form>
  )
}

export const Providers = ({ session }: { readonly session: Session }) => {
  const [providers, setProviders] = useState<ReadonlyArray<Provider> | undefined>(undefined)
  const [health, setHealth] = useState<Record<string, Health>>({})
  const [error, setError] = useState<string | undefined>(undefined)
  const [changed, setChanged] = useState<string | undefined>(undefined)

  const checkHealth = useCallback(
    (id: string) => {
      setHealth((all) => ({ ...all, [id]: { _tag: "Checking" } }))
      session.request<ProviderHealth>("GET", `/providers/${encodeURIComponent(id)}/health`).then(
        (answer) => setHealth((all) => ({ ...all, [id]: { _tag: "Checked", health: answer } })),
        (failure) => setHealth((all) => ({ ...all, [id]: { _tag: "Failed", message: messageOf(failure) } })),
      )
    },
    [session],
  )

  const load = useCallback(() => {
    session.request<ReadonlyArray<Provider>>("GET", "/providers").then(
      (list) => {
        setProviders(list)
        setError(undefined)
        for (const provider of list) checkHealth(provider.id)
      },
      (failure) => setError(messageOf(failure)),
    )
  }, [session, checkHealth])

  useEffect(load, [load])

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
              {providers.map((provider) => (
                <tr key={provider.id}>
                  <th scope="row">
                    {provider.id}
                    {provider.name !== provider.id ? <div class="hint">{provider.name}</div> : null}
                    {provider.enabled ? null : <div class="badge">disabled</div>}
                  </th>
                  <td data-label="Protocol">{provider.protocol}</td>
                  <td class="url" data-label="Base URL">
                    {provider.base_url}
                  </td>
                  <td data-label="Health">
                    <HealthBadge health={health[provider.id]} />{" "}
                    <button
                      type="button"
                      class="link"
                      onClick={() => checkHealth(provider.id)}
                      aria-label={`Check the health of ${provider.id} again`}
                    >
                      Recheck
                    </button>
                  </td>
                  <td data-label="Keys">
                    <ProviderKeys
                      session={session}
                      provider={provider}
                      onChanged={(message) => {
                        setChanged(message)
                        load()
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
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
