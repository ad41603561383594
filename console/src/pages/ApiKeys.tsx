import { useCallback, useEffect, useRef, useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { ApiKey, CreatedApiKey, User } from "../api/Types.js"
import { Field, messageOf, Notice, Select } from "../Controls.js"

const EXPIRIES = [
  ["never", "Never"],
  ["week", "In a week"],
  ["month", "In a month"],
  ["year", "In a year"],
] as const

const dateOf = (iso: string | null): string => (iso === null ? "never" : new Date(iso).toLocaleString())

/** The new key's token, shown this once: a read-only field to select and a copy button. */
const NewToken = ({ created, onDone }: { readonly created: CreatedApiKey; readonly onDone: () => void }) => {
  const field = useRef<HTMLInputElement>(null)
  const [copied, setCopied] = useState<string | undefined>(undefined)
  useEffect(() => field.current?.select(), [])
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.token)
      setCopied("Copied to the clipboard.")
    } catch {
      field.current?.select()
      setCopied("The browser refused the clipboard: the key is selected, copy it with Ctrl+C.")
    }
  }
  return (
    <section class="card created" aria-labelledby="new-key-title">
      <h2 id="new-key-title">Key “{created.name}” created</h2>
      <p>Copy it now: it is shown only this once.</p>
      <div class="copy-row">
        <label for="new-key-token" class="visually-hidden">
          The new API key
        </label>
        <input id="new-key-token" ref={field} readOnly value={created.token} spellcheck={false} />
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      {copied === undefined ? null : <Notice kind="ok">{copied}</Notice>}
      <button type="button" class="secondary" onClick={onDone}>
        Done
      </button>
    </section>
  )
}

export const ApiKeys = ({ session, me }: { readonly session: Session; readonly me: User }) => {
  const base = `/users/${encodeURIComponent(me.id)}/api-keys`
  const [keys, setKeys] = useState<ReadonlyArray<ApiKey> | undefined>(undefined)
  const [name, setName] = useState("")
  const [expiry, setExpiry] = useState("never")
  const [created, setCreated] = useState<CreatedApiKey | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [done, setDone] = useState<string | undefined>(undefined)

  const load = useCallback(() => {
    session.request<ReadonlyArray<ApiKey>>("GET", base).then(setKeys, (failure) => setError(messageOf(failure)))
  }, [session, base])
  useEffect(load, [load])

  const create = async (event: Event) => {
    event.preventDefault()
    setError(undefined)
    setDone(undefined)
    try {
      setCreated(await session.request<CreatedApiKey>("POST", base, { name: name.trim(), expiry }))
      setName("")
      load()
    } catch (failure) {
      setError(messageOf(failure))
    }
  }

  const revoke = async (key: ApiKey) => {
    if (
      !window.confirm(`Revoke the key “${key.name}” (${key.key_prefix}…)? Applications using it stop working at once.`)
    )
      return
    setError(undefined)
    try {
      await session.request("DELETE", `${base}/${encodeURIComponent(key.id)}`)
      setDone(`Key “${key.name}” revoked.`)
      load()
    } catch (failure) {
      setError(messageOf(failure))
    }
  }

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      {done === undefined ? null : <Notice kind="ok">{done}</Notice>}
      {created === undefined ? null : <NewToken created={created} onDone={() => setCreated(undefined)} />}
      <form class="card" onSubmit={create} aria-labelledby="create-key-title">
        <h2 id="create-key-title">Create a key</h2>
        <div class="grid">
          <Field
            label="Name"
            value={name}
            onValue={setName}
            required
            maxLength={255}
            hint="What uses it, e.g. “billing service”"
          />
          <Select label="Expires" value={expiry} onValue={setExpiry} options={EXPIRIES} />
        </div>
        <button type="submit">Create key</button>
      </form>
      {keys === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : keys.length === 0 ? (
        <p>No key yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">Your API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Expires</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => (
                <tr key={key.id}>
                  <th scope="row">{key.name}</th>
                  <td data-label="Key">
                    <code>{key.key_prefix}…</code>
                  </td>
                  <td data-label="Expires">{dateOf(key.expires_at)}</td>
                  <td data-label="Status">{key.is_active ? "active" : "inactive"}</td>
                  <td>
                    <button type="button" class="danger" onClick={() => revoke(key)} aria-label={`Revoke ${key.name}`}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
