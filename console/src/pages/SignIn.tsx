import { useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import { Field, Notice, useSubmit } from "../Controls.js"

export const SignIn = ({
  session,
  notice,
  onSignedIn,
}: {
  readonly session: Session
  readonly notice: string | undefined
  readonly onSignedIn: () => void
}) => {
  const [username, setUsername] = useState("")
  const [password, setPassword] = useState("")
  const { submit, error, busy } = useSubmit(async () => {
    await session.signIn(username, password)
    setPassword("")
    onSignedIn()
  })
  return (
    <main class="signin" id="main">
      <h1>APIProxy console</h1>
      <form onSubmit={submit} class="card" aria-label="Sign in">
        {notice === undefined ? null : <Notice kind="ok">{notice}</Notice>}
        <Field
          label="Username or email"
          value={username}
          onValue={setUsername}
          autocomplete="username"
          required
          autofocus
        />
        <Field
          label="Password"
          type="password"
          value={password}
          onValue={setPassword}
          autocomplete="current-password"
          required
        />
        {error === undefined ? null : <Notice kind="error">{error}</Notice>}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p class="hint">The login is kept in this tab's memory only: reloading the page signs you out.</p>
    </main>
  )
}
