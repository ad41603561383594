import { Clock, Effect, Either, Option, Redacted } from "effect"
import { Secrets } from "../crypto/Secrets.js"
import { UserRepository, type UserRow } from "../storage/UserRepository.js"
import { AuthError } from "./ApiKeyAuth.js"
import * as Jwt from "./Jwt.js"
import { LoginThrottle, throttleAccount } from "./LoginThrottle.js"
import { Revocations } from "./Revocations.js"
import { Users } from "./Users.js"

export interface TokenPair {
  readonly accessToken: Redacted.Redacted<string>
  readonly refreshToken: Redacted.Redacted<string>
  readonly expiresIn: number
  readonly refreshExpiresIn: number
}

const invalidToken = new AuthError({ status: 401, message: "Invalid authentication token" })
const invalidRefresh = new AuthError({ status: 401, message: "Invalid refresh token" })

/**
 * Management logins: password → an access token (30 min) and a refresh token (7 days) of one
 * family. Refresh rotates: each refresh token works once; presenting a used one again is taken
 * as theft and revokes the whole family. Logout revokes the family. Every check of a token
 * reads the user together with its login's revocation (one query): a deactivated account, a new
 * password or email (the token generation) and a logout all stop its tokens at once, on every
 * instance and across restarts (the revocations are in the database).
 */
export class LoginSessions extends Effect.Service<LoginSessions>()("gateway/identity/LoginSessions", {
  effect: Effect.gen(function* () {
    const users = yield* Users
    const repo = yield* UserRepository
    const secrets = yield* Secrets
    const revocations = yield* Revocations
    const throttle = yield* LoginThrottle
    const signingKey = Redacted.value(secrets.jwtSigningKey)
    const verificationKeys = secrets.jwtVerificationKeys.map(Redacted.value)

    const nowSeconds = Effect.map(Clock.currentTimeMillis, (ms) => ms / 1000)

    const issue = (userId: string, generation: number, family: string | undefined, now: number): TokenPair => {
      const access = Jwt.newClaims({ sub: userId, type: "access", nowSeconds: now, family, generation })
      const refresh = Jwt.newClaims({ sub: userId, type: "refresh", nowSeconds: now, family: access.fam, generation })
      return {
        accessToken: Redacted.make(Jwt.sign(access, signingKey)),
        refreshToken: Redacted.make(Jwt.sign(refresh, signingKey)),
        expiresIn: Jwt.ACCESS_TOKEN_SECONDS,
        refreshExpiresIn: Jwt.REFRESH_TOKEN_SECONDS,
      }
    }

    /** A password login from `clientAddress` (failed attempts are throttled per account and address). */
    const login = Effect.fn("LoginSessions.login")(function* (login: string, password: string, clientAddress: string) {
      // Throttled per account (whichever name or email it was given as) and address; the
      // attempt is counted before the password is checked, so concurrent guesses all count.
      const found = yield* users.findByLogin(login)
      const account = throttleAccount(Option.isSome(found) ? found.value.id : undefined, login)
      yield* throttle.attempt(account, clientAddress)
      const user = yield* users.checkLogin(found, password)
      yield* throttle.succeeded(account, clientAddress)
      return { user, tokens: issue(user.id, user.tokenGeneration, undefined, yield* nowSeconds) } as const
    })

    /**
     * A valid token of `type` whose login was not ended, issued under the user's current token
     * generation, and its user; `error` otherwise (403 for a deactivated account).
     */
    const check = (token: string, type: Jwt.TokenType, error: AuthError) =>
      Effect.gen(function* () {
        const verified = Jwt.verify(token, verificationKeys, type, yield* nowSeconds)
        if (Either.isLeft(verified)) return yield* error
        const claims = verified.right
        const found = yield* repo.findForSession(claims.sub, revocations.familyKey(claims.fam))
        if (Option.isNone(found)) return yield* error
        const user = found.value
        if (user.familyRevoked || user.tokenGeneration !== claims.gen) return yield* error
        if (!user.isActive) return yield* new AuthError({ status: 403, message: "User account is disabled" })
        return { claims, user } as const
      })

    /** A refresh token → a new pair of the same family; the old refresh token is spent. */
    const refresh = Effect.fn("LoginSessions.refresh")(function* (refreshToken: string) {
      const { claims, user } = yield* check(refreshToken, "refresh", invalidRefresh)
      const now = yield* nowSeconds
      const first = yield* revocations.claimRefresh(claims.jti, claims.exp - now)
      if (!first) {
        // A spent refresh token came back: someone holds a copy. End the whole login.
        yield* revocations.revokeFamily(claims.fam)
        return yield* invalidRefresh
      }
      return issue(claims.sub, user.tokenGeneration, claims.fam, now)
    })

    /** Ends the login a refresh (or access) token belongs to: every token of its family. */
    const logout = Effect.fn("LoginSessions.logout")(function* (token: string) {
      const claims =
        Either.getOrUndefined(Jwt.verify(token, verificationKeys, "refresh", yield* nowSeconds)) ??
        Either.getOrUndefined(Jwt.verify(token, verificationKeys, "access", yield* nowSeconds))
      if (claims === undefined) return yield* invalidToken
      yield* revocations.revokeFamily(claims.fam)
    })

    /** An access token (never a refresh token) → its active user. */
    const verifyAccess = Effect.fn("LoginSessions.verifyAccess")(function* (token: string) {
      const { user } = yield* check(token, "access", invalidToken)
      return user as UserRow
    })

    return { login, refresh, logout, verifyAccess } as const
  }),
  dependencies: [Users.Default, UserRepository.Default, Revocations.Default, LoginThrottle.Default],
}) {}
