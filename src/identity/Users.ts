import { Effect, Option } from "effect"
import type { Budget } from "../shared/Budget.js"
import { type UniqueViolation, UserRepository, type UserRow } from "../storage/UserRepository.js"
import { ApiKeyAuth, AuthError } from "./ApiKeyAuth.js"
import { ResourceConflict, ResourceNotFound } from "./IdentityErrors.js"
import { LoginThrottle, throttleAccount } from "./LoginThrottle.js"
import { hashPassword, unmatchableHash, verifyPassword } from "./Passwords.js"

/** The throttle's "address" for `current_password` checks: one count per account, wherever from. */
const CURRENT_PASSWORD = "current-password"

export type { UserRow } from "../storage/UserRepository.js"

export interface NewUser {
  readonly username: string
  readonly email: string
  readonly password: string
  readonly displayName?: string | null | undefined
  readonly avatar?: string | null | undefined
  readonly isSuperuser?: boolean | undefined
}

export interface UserChanges {
  readonly email?: string | undefined
  readonly password?: string | undefined
  readonly displayName?: string | null | undefined
  readonly avatar?: string | null | undefined
}

const conflictOf = (error: UniqueViolation) =>
  new ResourceConflict({
    message: error.constraint.includes("email")
      ? "Email is already in use"
      : error.constraint.includes("username")
        ? "Username is already taken"
        : "User already exists",
  })

/**
 * Accounts: creation, profile and password changes, activation, and password login. A status
 * change drops cached API-key verdicts on every instance, so a deactivated owner's keys stop at
 * once; a new password or email revokes every token issued before it (the token generation).
 */
export class Users extends Effect.Service<Users>()("gateway/identity/Users", {
  effect: Effect.gen(function* () {
    const repo = yield* UserRepository
    const throttle = yield* LoginThrottle
    const auth = yield* ApiKeyAuth

    const get = Effect.fn("Users.get")(function* (id: string) {
      return yield* Effect.flatMap(
        repo.findById(id),
        Option.match({
          onNone: () => Effect.fail(ResourceNotFound.of("User", id)),
          onSome: Effect.succeed,
        }),
      )
    })

    const create = Effect.fn("Users.create")(function* (user: NewUser) {
      const hashedPassword = yield* hashPassword(user.password)
      return yield* repo
        .insert({
          username: user.username,
          email: user.email,
          displayName: user.displayName ?? null,
          avatar: user.avatar ?? null,
          hashedPassword,
          isSuperuser: user.isSuperuser ?? false,
        })
        .pipe(Effect.catchTag("UniqueViolation", (e) => Effect.fail(conflictOf(e))))
    })

    const update = Effect.fn("Users.update")(function* (id: string, changes: UserChanges) {
      const hashedPassword = changes.password === undefined ? undefined : yield* hashPassword(changes.password)
      const updated = yield* repo
        .update(id, {
          email: changes.email,
          displayName: changes.displayName,
          avatar: changes.avatar,
          hashedPassword,
          // New credentials end every login session of the account, in the same write.
          bumpTokenGeneration: hashedPassword !== undefined || changes.email !== undefined,
        })
        .pipe(Effect.catchTag("UniqueViolation", (e) => Effect.fail(conflictOf(e))))
      if (Option.isNone(updated)) return yield* ResourceNotFound.of("User", id)
      return updated.value
    })

    /**
     * Fails with 403 unless `password` is the user's current password. Wrong guesses count
     * against the account like failed logins (LOGIN_MAX_FAILURES, then 429), so a stolen session
     * cannot be used to guess the password either.
     */
    const checkPassword = Effect.fn("Users.checkPassword")(function* (id: string, password: string) {
      const user = yield* get(id)
      const account = throttleAccount(user.id, user.username)
      yield* throttle.attempt(account, CURRENT_PASSWORD)
      if (!(yield* verifyPassword(password, user.hashedPassword))) {
        return yield* new AuthError({ status: 403, message: "current_password does not match" })
      }
      yield* throttle.succeeded(account, CURRENT_PASSWORD)
    })

    const setActive = Effect.fn("Users.setActive")(function* (id: string, active: boolean) {
      const updated = yield* repo.update(id, { isActive: active }).pipe(Effect.catchTag("UniqueViolation", Effect.die))
      if (Option.isNone(updated)) return yield* ResourceNotFound.of("User", id)
      yield* auth.invalidate
      return updated.value
    })

    /** Sets (or with `null` removes) the user's spend limit; API-key verdicts, which carry it, are dropped on every instance. */
    const setBudget = Effect.fn("Users.setBudget")(function* (id: string, budget: Budget | null) {
      const updated = yield* repo.update(id, { budget }).pipe(Effect.catchTag("UniqueViolation", Effect.die))
      if (Option.isNone(updated)) return yield* ResourceNotFound.of("User", id)
      yield* auth.invalidate
      return updated.value
    })

    /**
     * Username (or email) and password → the user. The same answer for an unknown user and a
     * wrong password, in about the same time.
     */
    const authenticate = Effect.fn("Users.authenticate")(function* (login: string, password: string) {
      return yield* checkLogin(yield* repo.findByLogin(login), password)
    })

    /** `authenticate` for an account already looked up (`findByLogin`). */
    const checkLogin = Effect.fn("Users.checkLogin")(function* (found: Option.Option<UserRow>, password: string) {
      const stored = Option.isSome(found) ? found.value.hashedPassword : unmatchableHash
      const ok = yield* verifyPassword(password, stored)
      if (Option.isNone(found) || !ok)
        return yield* new AuthError({ status: 401, message: "Invalid username or password" })
      if (!found.value.isActive) return yield* new AuthError({ status: 403, message: "User account is disabled" })
      return found.value
    })

    return {
      get,
      list: repo.list,
      create,
      update,
      checkPassword,
      setActive,
      setBudget,
      authenticate,
      findByLogin: repo.findByLogin,
      checkLogin,
      count: repo.count,
    } as const
  }),
  dependencies: [UserRepository.Default, LoginThrottle.Default],
}) {}
