import { useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { User } from "../api/Types.js"
import { Field, Notice, useSubmit } from "../Controls.js"

/** The signed-in user, and changing their own password (which ends every login: sign in again). */
export const Account = ({ session, me }: { readonly session: Session; readonly me: User }) => {
  const [current, setCurrent] = useState("")
  const [next, setNext] = useState("")
  const [repeat, setRepeat] = useState("")
  const { submit, error, busy } = useSubmit(async () => {
    if (next !== repeat) throw new Error("The new passwords differ")
    await session.request("PUT", `/users/${encodeURIComponent(me.id)}`, { password: next, current_password: current })
    // The gateway ended every login of the account: sign in again.
    session.forget("Password changed: sign in with the new one.")
  })
  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">Account</h1>
      <dl class="facts card">
        <dt>Username</dt>
        <dd>{me.username}</dd>
        <dt>Email</dt>
        <dd>{me.email}</dd>
        <dt>Role</dt>
        <dd>{me.is_superuser ? "superuser" : "user"}</dd>
      </dl>
      <form class="card" onSubmit={submit} aria-labelledby="password-title">
        <h2 id="password-title">Change password</h2>
        <Field
          label="Current password"
          type="password"
          value={current}
          onValue={setCurrent}
          autocomplete="current-password"
          required
        />
        <Field
          label="New password"
          type="password"
          value={next}
          onValue={setNext}
          autocomplete="new-password"
          minLength={8}
          maxLength={128}
          required
          hint="8 to 128 characters. Every login ends: you sign in again."
        />
        <Field
          label="New password again"
          type="password"
          value={repeat}
          onValue={setRepeat}
          autocomplete="new-password"
          required
        />
        {error === undefined ? null : <Notice kind="error">{error}</Notice>}
        <button type="submit" disabled={busy}>
          Change password
        </button>
      </form>
    </section>
  )
}
