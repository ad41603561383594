import { useCallback, useEffect, useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { ApiKey, CreatedApiKey, Provider, User } from "../api/Types.js"
import { Field, messageOf, Notice, Select, useSubmit } from "../Controls.js"
import { EditKey } from "./keys/EditKey.js"
import { createBodyOf, type KeyForm, NEW_KEY_FORM } from "./keys/KeyBody.js"
import { KeyFields } from "./keys/KeyFields.js"
import { KeyTable } from "./keys/KeyTable.js"
import { NewToken } from "./keys/NewToken.js"

/**
 * API keys: a user's own; a superuser picks whose (every user's keys are theirs to manage). A key
 * is created with its expiry, provider allow-list, limits and budget, its token shown once.
 */
export const ApiKeys = ({ session, me }: { readonly session: Session; readonly me: User }) => {
  const [owner, setOwner] = useState(me.id)
  const base = `/users/${encodeURIComponent(owner)}/api-keys`
  const [users, setUsers] = useState<ReadonlyArray<User> | undefined>(undefined)
  const [providers, setProviders] = useState<ReadonlyArray<string> | undefined>(undefined)
  const [keys, setKeys] = useState<ReadonlyArray<ApiKey> | undefined>(undefined)
  const [form, setForm] = useState<KeyForm>(NEW_KEY_FORM)
  // A new form (after a creation) starts its typed fields afresh.
  const [formVersion, setFormVersion] = useState(0)
  const [created, setCreated] = useState<CreatedApiKey | undefined>(undefined)
  const [editing, setEditing] = useState<ApiKey | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [done, setDone] = useState<string | undefined>(undefined)

  const load = useCallback(() => {
    setKeys(undefined)
    session.request<ReadonlyArray<ApiKey>>("GET", base).then(setKeys, (failure) => setError(messageOf(failure)))
  }, [session, base])
  useEffect(load, [load])
  useEffect(() => {
    // Only a superuser may list users and providers; anyone else types provider ids.
    if (!me.is_superuser) return
    session.request<ReadonlyArray<User>>("GET", "/users").then(setUsers, (failure) => setError(messageOf(failure)))
    session.request<ReadonlyArray<Provider>>("GET", "/providers").then(
      (list) => setProviders(list.map((provider) => provider.id)),
      (failure) => setError(messageOf(failure)),
    )
  }, [session, me])

  const create = useSubmit(async () => {
    setDone(undefined)
    const body = createBodyOf(form)
    if (!body.ok) return create.setError(body.error)
    setCreated(await session.request<CreatedApiKey>("POST", base, body.value))
    setForm(NEW_KEY_FORM)
    setFormVersion((version) => version + 1)
    load()
  })

  const revoke = async (key: ApiKey) => {
    if (
      !window.confirm(`Revoke the key “${key.name}” (${key.key_prefix}…)? Applications using it stop working at once.`)
    )
      return
    setError(undefined)
    try {
      await session.request("DELETE", `${base}/${encodeURIComponent(key.id)}`)
      setDone(`Key “${key.name}” revoked.`)
      if (editing?.id === key.id) setEditing(undefined)
      load()
    } catch (failure) {
      setError(messageOf(failure))
    }
  }

  const ownerName = owner === me.id ? "Your" : `${users?.find((user) => user.id === owner)?.username ?? "The user"}’s`
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      {done === undefined ? null : <Notice kind="ok">{done}</Notice>}
      {users === undefined ? null : (
        <div class="owner">
          <Select
            label="Keys of"
            value={owner}
            onValue={(id) => {
              setOwner(id)
              setEditing(undefined)
              setCreated(undefined)
              setDone(undefined)
            }}
            options={users.map((user) => [user.id, user.id === me.id ? `${user.username} (you)` : user.username])}
          />
        </div>
      )}
      {created === undefined ? null : <NewToken created={created} onDone={() => setCreated(undefined)} />}
      <form class="card" onSubmit={create.submit} aria-labelledby="create-key-title">
        <h2 id="create-key-title">Create a key</h2>
        {create.error === undefined ? null : <Notice kind="error">{create.error}</Notice>}
        <div class="grid">
          <Field
            label="Name"
            value={form.name}
            onValue={(name) => setForm({ ...form, name })}
            required
            maxLength={255}
            hint="What uses it, e.g. “billing service”"
          />
        </div>
        <KeyFields key={formVersion} form={form} onForm={setForm} providers={providers} idPrefix="create" />
        <button type="submit" disabled={create.busy}>
          Create key
        </button>
      </form>
      {editing === undefined ? null : (
        <EditKey
          key={editing.id}
          session={session}
          keyPath={`${base}/${encodeURIComponent(editing.id)}`}
          apiKey={editing}
          superuser={me.is_superuser}
          providers={providers}
          onSaved={(message) => {
            setEditing(undefined)
            setDone(message)
            load()
          }}
          onCancel={() => setEditing(undefined)}
        />
      )}
      <h2>{ownerName} keys</h2>
      {keys === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : keys.length === 0 ? (
        <p>No key yet.</p>
      ) : (
        <KeyTable
          keys={keys}
          caption={`${ownerName} API keys`}
          onEdit={(key) => {
            setDone(undefined)
            setEditing(key)
          }}
          onRevoke={revoke}
        />
      )}
    </section>
  )
}
