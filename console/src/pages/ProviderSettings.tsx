import { useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { Provider } from "../api/Types.js"
import { Field, messageOf, Notice, Select, useSubmit } from "../Controls.js"
import { HEADER_NAME, HEADER_NAME_PATTERN, headersPatch } from "../providers/ProviderEdits.js"
import { PROTOCOLS } from "./AddProvider.js"

const TYPES = [
  ["native", "Native (the vendor's own API)"],
  ["aggregator", "Aggregator (serves many vendors' models)"],
] as const

/**
 * Edits a provider (PATCH /providers/{id}): name, base URL, dialect, type, and its custom headers.
 * Header values are write-only like keys: listed masked, replaced by typing a new value, removed
 * by ticking; the API keeps a stored value whose masked form is sent back.
 */
export const ProviderSettings = ({
  session,
  provider,
  onChanged,
}: {
  readonly session: Session
  readonly provider: Provider
  readonly onChanged: (message: string) => void
}) => {
  const [name, setName] = useState(provider.name)
  const [baseUrl, setBaseUrl] = useState(provider.base_url)
  const [protocol, setProtocol] = useState<string>(provider.protocol)
  const [type, setType] = useState<string>(provider.provider_type)
  const [removed, setRemoved] = useState<ReadonlySet<string>>(new Set())
  const [headerName, setHeaderName] = useState("")
  const [headerValue, setHeaderValue] = useState("")
  const save = useSubmit(async () => {
    const settingHeader = headerName.trim() !== ""
    if (settingHeader && !HEADER_NAME.test(headerName.trim())) throw new Error("That is not a header name.")
    if (settingHeader && headerValue === "") throw new Error(`Type a value for the header ${headerName.trim()}.`)
    await session.request<Provider>("PATCH", `/providers/${encodeURIComponent(provider.id)}`, {
      name: name.trim(),
      base_url: baseUrl.trim(),
      protocol,
      provider_type: type,
      custom_headers: headersPatch(
        provider.custom_headers,
        removed,
        settingHeader ? { name: headerName, value: headerValue } : undefined,
      ),
    })
    setHeaderName("")
    setHeaderValue("")
    setRemoved(new Set())
    onChanged(`Provider ${provider.id} saved.`)
  })
  const [toggleError, setToggleError] = useState<string | undefined>(undefined)
  const toggle = async () => {
    setToggleError(undefined)
    try {
      await session.request("PATCH", `/providers/${encodeURIComponent(provider.id)}`, { enabled: !provider.enabled })
      onChanged(`Provider ${provider.id} ${provider.enabled ? "disabled" : "enabled"}.`)
    } catch (failure) {
      setToggleError(messageOf(failure))
    }
  }
  const headers = Object.entries(provider.custom_headers)
  return (
    <div class="card">
      <h3>Settings</h3>
      <p>
        {provider.enabled ? (
          <span class="badge healthy">enabled</span>
        ) : (
          <span class="badge down">disabled: no request goes to it</span>
        )}{" "}
        <button type="button" class={provider.enabled ? "danger" : "secondary"} onClick={toggle}>
          {provider.enabled ? `Disable ${provider.id}` : `Enable ${provider.id}`}
        </button>
      </p>
      {toggleError === undefined ? null : <Notice kind="error">{toggleError}</Notice>}
      <form onSubmit={save.submit} autocomplete="off" aria-label={`Edit ${provider.id}`}>
        <div class="grid">
          <Field label="Display name" value={name} onValue={setName} required maxLength={255} />
          <Field label="Provider base URL" type="url" value={baseUrl} onValue={setBaseUrl} required />
          <Select label="Dialect" value={protocol} onValue={setProtocol} options={PROTOCOLS} />
          <Select label="Type" value={type} onValue={setType} options={TYPES} />
        </div>
        <fieldset>
          <legend>Custom headers</legend>
          {headers.length === 0 ? (
            <p class="hint">None.</p>
          ) : (
            <ul class="plain">
              {headers.map(([header, masked]) => (
                <li key={header}>
                  <label class="inline">
                    <input
                      type="checkbox"
                      checked={removed.has(header)}
                      onChange={(event) => {
                        const next = new Set(removed)
                        if (event.currentTarget.checked) next.add(header)
                        else next.delete(header)
                        setRemoved(next)
                      }}
                    />{" "}
                    Remove <code>{header}</code>
                  </label>{" "}
                  <code>{masked}</code>
                </li>
              ))}
            </ul>
          )}
          <div class="grid">
            <Field
              label="Header name"
              value={headerName}
              onValue={setHeaderName}
              pattern={HEADER_NAME_PATTERN}
              spellcheck={false}
              hint="To add a header, or replace one's value"
            />
            <Field
              label="Header value"
              type="password"
              value={headerValue}
              onValue={setHeaderValue}
              maxLength={8192}
              autocomplete="new-password"
              spellcheck={false}
              hint="Write-only: shown masked once saved"
            />
          </div>
        </fieldset>
        {save.error === undefined ? null : <Notice kind="error">{save.error}</Notice>}
        <button type="submit" disabled={save.busy}>
          {save.busy ? "Saving…" : "Save settings"}
        </button>
      </form>
    </div>
  )
}
