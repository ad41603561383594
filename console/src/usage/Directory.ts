import type { Session } from "../api/Session.js"
import type { User } from "../api/Types.js"
import type { BudgetedKey, BudgetedUser, BudgetStatus } from "../api/UsageTypes.js"
import { MASTER } from "./UsageSeries.js"

/**
 * Who the usage page may name: the users and API keys the signed-in user may see (a superuser:
 * everyone; anyone else: themselves) and the status of every budget among them.
 */
export interface Directory {
  readonly users: ReadonlyArray<BudgetedUser>
  readonly keys: ReadonlyArray<BudgetedKey>
  readonly budgets: ReadonlyArray<BudgetStatus>
}

const keysPath = (userId: string) => `/users/${encodeURIComponent(userId)}/api-keys`

export const loadDirectory = async (session: Session, me: User): Promise<Directory> => {
  const users = me.is_superuser
    ? await session.request<ReadonlyArray<BudgetedUser>>("GET", "/users")
    : [await session.request<BudgetedUser>("GET", "/auth/me")]
  const keys = (
    await Promise.all(users.map((user) => session.request<ReadonlyArray<BudgetedKey>>("GET", keysPath(user.id))))
  ).flat()
  const budgets = await Promise.all([
    ...users
      .filter((user) => user.budget !== null)
      .map((user) => session.request<BudgetStatus>("GET", `/users/${encodeURIComponent(user.id)}/budget`)),
    ...keys
      .filter((key) => key.budget !== null)
      .map((key) =>
        session.request<BudgetStatus>("GET", `${keysPath(key.user_id)}/${encodeURIComponent(key.id)}/budget`),
      ),
  ])
  return { users, keys, budgets }
}

/**
 * A name for a key group of the usage page: the key's name, with its owner's for another user's
 * key; the master key; a key no longer listed (deleted) by the start of its id.
 */
export const keyLabeller = (directory: Directory, me: User) => {
  const keys = new Map(directory.keys.map((key) => [key.id, key]))
  const users = new Map(directory.users.map((user) => [user.id, user.username]))
  return (id: string): string => {
    if (id === MASTER) return "Master key"
    const key = keys.get(id)
    if (key === undefined) return `Deleted key ${id.slice(0, 8)}`
    return key.user_id === me.id ? key.name : `${users.get(key.user_id) ?? "?"} / ${key.name}`
  }
}

/** Whose budget a status is: "User alice" or "Key billing" (with its owner's name for another user's key). */
export const budgetOwner = (budget: BudgetStatus, directory: Directory, me: User): string => {
  if (budget.budget === "user")
    return `User ${directory.users.find((user) => user.id === budget.user_id)?.username ?? budget.user_id}`
  return `Key ${keyLabeller(directory, me)(budget.api_key_id ?? MASTER)}`
}
