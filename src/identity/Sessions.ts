import { Clock, Effect, Either, Option, Redacted } from "effect"
import { UserRepository } from "../storage/UserRepository.js"
import { AuthError } from "./ApiKeyAuth.js"
import * as Jwt from "./Jwt.js"
import { LoginThrottle } from "./LoginThrottle.js"
import { Revocations } from "./Revocations.js"
import { Secrets } from "./Secrets.js"
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
 * as theft and revokes the whole family. Logout revokes the family. Every check of an access
 * token also reads the user, so a deactivated account stops at once.
 */
export class Sessions extends Effect.Service<Sessions>()("gateway/identity/Sessions", {
  effect: Effect.gen(function* () {
    const users = yield* Users
    const repo = yield* UserRepository
    const secrets = yield* Secrets
    const revocations = yield* Revocations
    const throttle = yield* LoginThrottle
    const signingKey = Redacted.value(secrets.jwtSigningKey)
    const verificationKeys = secrets.jwtVerificationKeys.map(Redacted.value)

    const nowSeconds = Effect.map(Clock.currentTimeMillis, (ms) => ms / 1000)

    const issue = (userId: string, family: string | undefined, now: number): TokenPair => {
      const access = Jwt.newClaims({ sub: userId, type: "access", nowSeconds: now, family })
      const refresh = Jwt.newClaims({ sub: userId, type: "refresh", nowSeconds: now, family: access.fam })
      return {
        accessToken: Redacted.make(Jwt.sign(access, signingKey)),
        refreshToken: Redacted.make(Jwt.sign(refresh, signingKey)),
        expiresIn: Jwt.ACCESS_TOKEN_SECONDS,
        refreshExpiresIn: Jwt.REFRESH_TOKEN_SECONDS,
      }
    }

    /** A password login from `clientAddress` (failed attempts are throttled per account and address). */
    const login = Effect.fn("Sessions.login")(function* (login: string, password: string, clientAddress: string) {
      yield* throttle.check(login, clientAddress)
      const user = yield* users.authenticate(login, password).pipe(
        Effect.tapError((error) => (error._tag === "AuthError" && error.status === 401 ? throttle.failed(login, clientAddress) : Effect.void)),
      )
      yield* throttle.succeeded(login, clientAddress)
      return { user, tokens: issue(user.id, undefined, yield* nowSeconds) } as const
    })

    /** A valid, unrevoked token of `type`, or the given error. */
    const check = (token: string, type: Jwt.TokenType, error: AuthError) =>
      Effect.gen(function* () {
        const claims = Jwt.verify(token, verificationKeys, type, yield* nowSeconds)
        if (Either.isLeft(claims)) return yield* error
        if (yield* revocations.isRevoked(claims.right)) return yield* error
        return claims.right
      })

    const activeUser = (userId: string, error: AuthError) =>
      Effect.gen(function* () {
        const user = yield* repo.findById(userId)
        if (Option.isNone(user)) return yield* error
        if (!user.value.isActive) return yield* new AuthError({ status: 403, message: "User account is disabled" })
        return user.value
      })

    /** A refresh token → a new pair of the same family; the old refresh token is spent. */
    const refresh = Effect.fn("Sessions.refresh")(function* (refreshToken: string) {
      const claims = yield* check(refreshToken, "refresh", invalidRefresh)
      const now = yield* nowSeconds
      const first = yield* revocations.claimRefresh(claims.jti, claims.exp - now)
      if (!first) {
        // A spent refresh token came back: someone holds a copy. End the whole login.
        yield* revocations.revokeFamily(claims.fam)
        return yield* invalidRefresh
      }
      yield* activeUser(claims.sub, invalidRefresh)
      return issue(claims.sub, claims.fam, now)
    })

    /** Ends the login a refresh (or access) token belongs to: every token of its family. */
    const logout = Effect.fn("Sessions.logout")(function* (token: string) {
      const claims =
        Either.getOrUndefined(Jwt.verify(token, verificationKeys, "refresh", yield* nowSeconds)) ??
        Either.getOrUndefined(Jwt.verify(token, verificationKeys, "access", yield* nowSeconds))
      if (claims === undefined) return yield* invalidToken
      yield* revocations.revokeFamily(claims.fam)
    })

    /** An access token (never a refresh token) → its active user. */
    const verifyAccess = Effect.fn("Sessions.verifyAccess")(function* (token: string) {
      const claims = yield* check(token, "access", invalidToken)
      return yield* activeUser(claims.sub, new AuthError({ status: 401, message: "User not found" }))
    })

    return { login, refresh, logout, verifyAccess } as const
  }),
  dependencies: [Users.Default, UserRepository.Default, Revocations.Default, LoginThrottle.Default],
}) {}
