import { useCallback, useEffect, useState } from "preact/hooks"
import { localText } from "../api/LocalTime.js"
import type { Session } from "../api/Session.js"
import type { User } from "../api/Types.js"
import { Checkbox } from "../Checkbox.js"
import { Field, messageOf, Notice, StackTable, useSubmit } from "../Controls.js"

/** Adds a user. The password field is emptied once the user is created. */
const AddUser = ({ session, onAdded }: { readonly session: Session; readonly onAdded: (user: User) => void }) => {
  const [username, setUsername] = useState("")
  const [email, setEmail] = useState("")
  const [password, setPassword] = useState("")
  const [superuser, setSuperuser] = useState(false)
  const { submit, error, busy } = useSubmit(async () => {
    const user = await session.request<User>("POST", "/users", {
      username: username.trim(),
      email: email.trim(),
      password,
      is_superuser: superuser,
    })
    setUsername("")
    setEmail("")
    setPassword("")
    setSuperuser(false)
    onAdded(user)
  })
  return (
    <form class="card" onSubmit={submit} aria-labelledby="add-user-title" autocomplete="off">
      <h2 id="add-user-title">Add a user</h2>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      <div class="grid">
        <Field
          label="Username"
          value={username}
          onValue={setUsername}
          required
          hint="3 to 64 of A-Z a-z 0-9 _ . -"
          autocomplete="off"
        />
        <Field label="Email" type="email" value={email} onValue={setEmail} required autocomplete="off" />
        <Field
          label="Password"
          type="password"
          value={password}
          onValue={setPassword}
          required
          hint="8 to 128 characters; tell it to the user, who can change it on their Account page"
          autocomplete="new-password"
        />
      </div>
      <Checkbox
        label="Superuser"
        checked={superuser}
        onChecked={setSuperuser}
        hint="Manages providers, users and every key"
      />
      <button type="submit" disabled={busy}>
        Add user
      </button>
    </form>
  )
}

/**
 * Users (superusers only): the accounts, adding one, and deactivating or reactivating one. The API
 * deletes no user: deactivating stops their logins and API keys at once, on every instance.
 */
export const Users = ({ session, me }: { readonly session: Session; readonly me: User }) => {
  const [users, setUsers] = useState<ReadonlyArray<User> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [done, setDone] = useState<string | undefined>(undefined)

  const load = useCallback(() => {
    session.request<ReadonlyArray<User>>("GET", "/users").then(setUsers, (failure) => setError(messageOf(failure)))
  }, [session])
  useEffect(load, [load])

  const setActive = async (user: User, active: boolean) => {
    if (
      !active &&
      !window.confirm(`Deactivate ${user.username}? Their logins and API keys stop working at once, until reactivated.`)
    )
      return
    setError(undefined)
    setDone(undefined)
    try {
      await session.request("PUT", `/users/${encodeURIComponent(user.id)}/status`, { is_active: active })
      setDone(`${user.username} ${active ? "reactivated" : "deactivated"}.`)
      load()
    } catch (failure) {
      setError(messageOf(failure))
    }
  }

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      {done === undefined ? null : <Notice kind="ok">{done}</Notice>}
      <AddUser
        session={session}
        onAdded={(user) => {
          setError(undefined)
          setDone(`User ${user.username} added.`)
          load()
        }}
      />
      {users === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <StackTable caption="Users" columns={["Username", "Email", "Role", "Status", "Created"]} actions>
          {users.map((user) => (
            <tr key={user.id}>
              <th scope="row">{user.username}</th>
              <td data-label="Email" class="url">
                {user.email}
              </td>
              <td data-label="Role">{user.is_superuser ? "superuser" : "user"}</td>
              <td data-label="Status">{user.is_active ? "active" : "inactive"}</td>
              <td data-label="Created" title={user.created_at}>
                {localText(user.created_at)}
              </td>
              <td>
                {user.id === me.id ? (
                  <span class="hint">you</span>
                ) : (
                  <button
                    type="button"
                    class={user.is_active ? "danger" : "secondary"}
                    onClick={() => setActive(user, !user.is_active)}
                    aria-label={`${user.is_active ? "Deactivate" : "Reactivate"} ${user.username}`}
                  >
                    {user.is_active ? "Deactivate" : "Reactivate"}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </StackTable>
      )}
    </section>
  )
}
