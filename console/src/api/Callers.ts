import type { Session } from "./Session.js"
import type { ApiKey, User } from "./Types.js"

/** Who the request log's rows name by id: the users and API keys the signed-in user may list. */
export interface Callers {
  readonly users: ReadonlyArray<User>
  readonly keys: ReadonlyArray<ApiKey & { readonly user_id: string }>
}

/**
 * A superuser's view: every user and each one's keys (`GET /users`, then their keys at once);
 * anyone else's: their own keys only, as the API allows.
 */
export const loadCallers = async (session: Session, me: User): Promise<Callers> => {
  const users = me.is_superuser ? await session.request<ReadonlyArray<User>>("GET", "/users") : [me]
  const keys = await Promise.all(
    users.map(async (user) =>
      (await session.request<ReadonlyArray<ApiKey>>("GET", `/users/${encodeURIComponent(user.id)}/api-keys`)).map(
        (key) => ({ ...key, user_id: user.id }),
      ),
    ),
  )
  return { users, keys: keys.flat() }
}
