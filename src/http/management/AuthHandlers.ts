import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Effect, Option, Redacted } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import { LoginSessions, type TokenPair } from "../../identity/LoginSessions.js"
import { CurrentPrincipal } from "../../identity/Principal.js"
import { Users } from "../../identity/Users.js"
import { CoreApi, Forbidden, NotFound } from "./CoreApi.js"
import { managed } from "./Errors.js"
import { renderUser } from "./Render.js"

/** The caller's address: the socket's peer, or (TRUST_PROXY) the first X-Forwarded-For entry. */
const clientAddress = (request: HttpServerRequest.HttpServerRequest, trustProxy: boolean): string => {
  const forwarded = trustProxy ? request.headers["x-forwarded-for"]?.split(",")[0]?.trim() : undefined
  return forwarded !== undefined && forwarded !== ""
    ? forwarded
    : Option.getOrElse(request.remoteAddress, () => "unknown")
}

const renderTokens = (tokens: TokenPair) => ({
  access_token: Redacted.value(tokens.accessToken),
  refresh_token: Redacted.value(tokens.refreshToken),
  token_type: "bearer" as const,
  expires_in: tokens.expiresIn,
  refresh_expires_in: tokens.refreshExpiresIn,
})

export const AuthHandlers = HttpApiBuilder.group(CoreApi, "auth", (handlers) =>
  Effect.gen(function* () {
    const loginSessions = yield* LoginSessions
    const users = yield* Users
    const config = yield* AppConfig
    return handlers
      .handle("login", ({ payload, request }) =>
        loginSessions.login(payload.username, payload.password, clientAddress(request, config.trustProxy)).pipe(
          Effect.map(({ tokens }) => renderTokens(tokens)),
          managed,
        ),
      )
      .handle("refresh", ({ payload }) =>
        loginSessions.refresh(payload.refresh_token).pipe(Effect.map(renderTokens), managed),
      )
      .handle("logout", ({ payload }) =>
        loginSessions.logout(payload.refresh_token).pipe(Effect.as({ message: "Logged out" }), managed),
      )
      .handle("register", ({ payload }) =>
        config.allowRegistration
          ? users
              .create({
                username: payload.username,
                email: payload.email,
                password: payload.password,
                displayName: payload.display_name,
                isSuperuser: false,
              })
              .pipe(Effect.map(renderUser), managed)
          : Effect.fail(
              new Forbidden({
                message: "Self-service registration is disabled on this gateway; ask an administrator for an account",
              }),
            ),
      )
      .handle("me", () =>
        Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          if (principal.userId === null) return yield* new NotFound({ message: "The master key is not a user account" })
          return renderUser(yield* users.get(principal.userId))
        }).pipe(managed),
      )
  }),
)
