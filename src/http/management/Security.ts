import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Effect, Layer } from "effect"
import { Authenticator } from "../../identity/Authenticator.js"
import type { Principal } from "../../identity/Principal.js"
import { AnyCredential, Authenticated, Forbidden, Superuser, Unauthorized } from "./CoreApi.js"
import { toManagementError } from "./Errors.js"

/**
 * The credential of a management request: `Authorization: Bearer` (any case), `X-API-Key`, or
 * `X-Auth-Token`. Read from the request itself rather than from each security scheme's decoded
 * value, so a failure reports the real reason (expired, revoked…) whichever scheme was tried.
 */
const credential = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
  const authorization = request.headers["authorization"]
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    return match ? match[1]! : ""
  }
  return (request.headers["x-api-key"] ?? request.headers["x-auth-token"] ?? "").trim()
})

const resolve = Effect.gen(function* () {
  const token = yield* credential
  if (token === "") {
    return yield* new Unauthorized({ message: "Missing credentials: send 'Authorization: Bearer <token or API key>'" })
  }
  const authenticator = yield* Authenticator
  return yield* authenticator
    .authenticate(token)
    .pipe(Effect.catchAll((error) => toManagementError(error) as Effect.Effect<never, Unauthorized | Forbidden>))
})

const requireSuperuser = (principal: Principal) =>
  principal.isSuperuser
    ? Effect.succeed(principal)
    : Effect.fail(new Forbidden({ message: "Superuser privileges required" }))

/** A non-superuser's API key: the data plane only (and read-only routes), never account or key management. */
const requireManagementCredential = (principal: Principal) =>
  principal.kind === "api_key" && !principal.isSuperuser
    ? Effect.fail(
        new Forbidden({
          message: "API keys are for the data plane; manage accounts and keys with a login session (POST /auth/login)",
        }),
      )
    : Effect.succeed(principal)

/** A security middleware: resolve the caller's credential, then `check` the principal it names. */
const middleware = (check: (principal: Principal) => Effect.Effect<Principal, Forbidden>) =>
  Effect.gen(function* () {
    const authenticator = yield* Authenticator
    const run = Effect.provideService(resolve, Authenticator, authenticator).pipe(Effect.flatMap(check))
    return { bearer: () => run, apiKey: () => run }
  })

export const AuthenticatedLive = Layer.effect(Authenticated, middleware(requireManagementCredential))
export const AnyCredentialLive = Layer.effect(AnyCredential, middleware(Effect.succeed))
export const SuperuserLive = Layer.effect(Superuser, middleware(requireSuperuser))

/** The user itself, or a superuser (or the master key). */
export const requireSelfOrSuperuser = (principal: Principal, userId: string) =>
  principal.isSuperuser || principal.userId === userId
    ? Effect.void
    : Effect.fail(new Forbidden({ message: "You may only manage your own account and keys" }))
