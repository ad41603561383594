import { useEffect, useRef, useState } from "preact/hooks"
import { localText } from "../../api/LocalTime.js"
import type { Session } from "../../api/Session.js"
import type { ApiKey } from "../../api/Types.js"
import { Field, Notice, useSubmit } from "../../Controls.js"
import { formOfKey, updateOf } from "./KeyBody.js"
import { KeyFields } from "./KeyFields.js"

/**
 * An existing key's settings. A superuser changes them all (the budget through its own route,
 * `PUT`/`DELETE …/budget`); the key's owner may only rename it (the API's rule: a restriction an
 * administrator set stays set).
 */
export const EditKey = ({
  session,
  keyPath,
  apiKey,
  superuser,
  providers,
  onSaved,
  onCancel,
}: {
  readonly session: Session
  readonly keyPath: string
  readonly apiKey: ApiKey
  readonly superuser: boolean
  readonly providers: ReadonlyArray<string> | undefined
  readonly onSaved: (message: string) => void
  readonly onCancel: () => void
}) => {
  const [form, setForm] = useState(() => formOfKey(apiKey))
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => heading.current?.focus(), [])
  const { submit, error, setError, busy } = useSubmit(async () => {
    const update = updateOf(apiKey, form)
    if (!update.ok) return setError(update.error)
    const { key, budget } = update.value
    if (Object.keys(key).length === 0 && budget._tag === "Unchanged") return onSaved("Nothing to change.")
    if (Object.keys(key).length > 0) await session.request("PUT", keyPath, key)
    if (budget._tag === "Set") await session.request("PUT", `${keyPath}/budget`, budget.body)
    if (budget._tag === "Remove") await session.request("DELETE", `${keyPath}/budget`)
    onSaved(`Key “${form.name.trim()}” saved.`)
  })
  const current = apiKey.expires_at === null ? "never" : localText(apiKey.expires_at)
  return (
    <form class="card" onSubmit={submit} aria-labelledby="edit-key-title">
      <h2 id="edit-key-title" ref={heading} tabIndex={-1}>
        Edit key “{apiKey.name}”
      </h2>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      <div class="grid">
        <Field label="Name" value={form.name} onValue={(name) => setForm({ ...form, name })} required maxLength={255} />
      </div>
      {superuser ? (
        <KeyFields form={form} onForm={setForm} providers={providers} current={current} idPrefix="edit" />
      ) : (
        <p class="hint">
          A key's expiry, providers, limits and budget are set when it is created; afterwards only a superuser changes
          them.
        </p>
      )}
      <div class="row">
        <button type="submit" disabled={busy}>
          Save
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  )
}
