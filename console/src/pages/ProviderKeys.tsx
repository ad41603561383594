import { useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { KeyBackoff, Provider, ProviderKey } from "../api/Types.js"
import { Field, messageOf, Notice, useSubmit } from "../Controls.js"
import { backoffText } from "../providers/ProviderStatusText.js"

/**
 * Replaces a key's value (same label, weight and state): the field is write-only, emptied once
 * saved; afterwards only the new value's last four characters are shown.
 */
const RotateKey = ({
  session,
  provider,
  entry,
  onChanged,
}: {
  readonly session: Session
  readonly provider: Provider
  readonly entry: ProviderKey
  readonly onChanged: (message: string) => void
}) => {
  const [value, setValue] = useState("")
  const rotate = useSubmit(async () => {
    const saved = await session.request<ProviderKey>(
      "PATCH",
      `/providers/${encodeURIComponent(provider.id)}/keys/${encodeURIComponent(entry.id)}`,
      { key: value },
    )
    setValue("")
    onChanged(`Key ${saved.label} of ${provider.id} rotated (now ${saved.masked_key}).`)
  })
  return (
    <details class="add-key">
      <summary aria-label={`Rotate the key ${entry.label} of ${provider.id}`}>Rotate</summary>
      <form onSubmit={rotate.submit} autocomplete="off" aria-label={`Rotate the key ${entry.label} of ${provider.id}`}>
        <Field
          label={`New value for ${entry.label}`}
          type="password"
          value={value}
          onValue={setValue}
          required
          autocomplete="new-password"
          spellcheck={false}
          hint="Write-only: replaces the stored key"
        />
        {rotate.error === undefined ? null : <Notice kind="error">{rotate.error}</Notice>}
        <button type="submit" disabled={rotate.busy}>
          Rotate key
        </button>
      </form>
    </details>
  )
}

/**
 * A provider's keys, masked (`…` and the last four characters), with weight, max_qps and back-off
 * state, each rotatable and removable; and a form to add one. Key fields are write-only: emptied
 * once the key is saved, never filled from the API.
 */
export const ProviderKeys = ({
  session,
  provider,
  backoff,
  now,
  onChanged,
}: {
  readonly session: Session
  readonly provider: Provider
  /** Each key's back-off (from the provider's metrics), by key id; empty while unknown. */
  readonly backoff: ReadonlyMap<string, KeyBackoff>
  readonly now: number
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
      setRemoveError(messageOf(failure))
    }
  }
  return (
    <>
      {provider.keys.length === 0 ? (
        <span class="hint">none</span>
      ) : (
        <ul class="plain keys">
          {provider.keys.map((entry) => {
            const state = backoff.get(entry.id)
            return (
              <li key={entry.id}>
                <code>{entry.masked_key}</code> {entry.label} · weight {entry.weight}
                {entry.max_qps === null ? "" : ` · ${entry.max_qps} qps`}
                {entry.status === "active" ? "" : ` · ${entry.status}`}
                <div class={state === undefined || state.backoff === "none" ? "hint" : "hint warn"}>
                  {state === undefined ? "back-off: …" : `back-off: ${backoffText(state, now)}`}
                </div>
                <RotateKey session={session} provider={provider} entry={entry} onChanged={onChanged} />
                <button
                  type="button"
                  class="link"
                  onClick={() => remove(entry)}
                  aria-label={`Remove the key ${entry.label} of ${provider.id}`}
                >
                  Remove
                </button>
              </li>
            )
          })}
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
