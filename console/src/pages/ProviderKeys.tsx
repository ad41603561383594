import { useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { Provider, ProviderKey } from "../api/Types.js"
import { Field, Notice, useSubmit } from "../Controls.js"

/**
 * A provider's keys, masked (`…` and the last four characters), each removable; and a form to add
 * one. The key field is write-only: emptied once the key is saved, never filled from the API.
 */
export const ProviderKeys = ({
  session,
  provider,
  onChanged,
}: {
  readonly session: Session
  readonly provider: Provider
  readonly onChanged: (message: string) => void
}) => {
  const base = `/providers/${encodeURIComponent(provider.id)}/keys`
  const [label, setLabel] = useState("")
  const [key, setKey] = useState("")
  const add = useSubmit(async () => {
    const saved = await session.request<ProviderKey>("POST", base, {
      key,
      ...(label.trim() === "" ? {} : { label: label.trim() }),
    })
    setKey("")
    setLabel("")
    onChanged(`Key ${saved.label} (${saved.masked_key}) added to ${provider.id}.`)
  })
  const [removeError, setRemoveError] = useState<string | undefined>(undefined)
  const remove = async (entry: ProviderKey) => {
    if (!window.confirm(`Remove the key ${entry.label} (${entry.masked_key}) of ${provider.id}?`)) return
    setRemoveError(undefined)
    try {
      await session.request("DELETE", `${base}/${encodeURIComponent(entry.id)}`)
      onChanged(`Key ${entry.label} removed from ${provider.id}.`)
    } catch (failure) {
      setRemoveError(failure instanceof Error ? failure.message : String(failure))
    }
  }
  return (
    <>
      {provider.keys.length === 0 ? (
        <span class="hint">none</span>
      ) : (
        <ul class="plain">
          {provider.keys.map((entry) => (
            <li key={entry.id}>
              <code>{entry.masked_key}</code> {entry.label} · weight {entry.weight}
              {entry.max_qps === null ? "" : ` · ${entry.max_qps} qps`}
              {entry.status === "active" ? "" : ` · ${entry.status}`}{" "}
              <button
                type="button"
                class="link"
                onClick={() => remove(entry)}
                aria-label={`Remove the key ${entry.label} of ${provider.id}`}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      {removeError === undefined ? null : <Notice kind="error">{removeError}</Notice>}
      <details class="add-key">
        <summary>Add a key</summary>
        <form onSubmit={add.submit} autocomplete="off" aria-label={`Add a key to ${provider.id}`}>
          <Field label="Label" value={label} onValue={setLabel} maxLength={50} placeholder="default" />
          <Field
            label="Key"
            type="password"
            value={key}
            onValue={setKey}
            required
            autocomplete="new-password"
            spellcheck={false}
          />
          {add.error === undefined ? null : <Notice kind="error">{add.error}</Notice>}
          <button type="submit" disabled={add.busy}>
            Add key
          </button>
        </form>
      </details>
    </>
  )
}
