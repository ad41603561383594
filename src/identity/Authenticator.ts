import { Effect } from "effect"
import { ApiKeyAuth } from "./ApiKeyAuth.js"
import { looksLikeJwt } from "./Jwt.js"
import { LoginSessions } from "./LoginSessions.js"
import type { Principal } from "./Principal.js"

/**
 * One credential of the management API → who is calling: a JWT access token (a management
 * login), a client API key, or the master key. API keys and the master key go through the same
 * verification as on the data plane.
 */
export class Authenticator extends Effect.Service<Authenticator>()("gateway/identity/Authenticator", {
  effect: Effect.gen(function* () {
    const loginSessions = yield* LoginSessions
    const apiKeys = yield* ApiKeyAuth

    const authenticate = Effect.fn("Authenticator.authenticate")(function* (credential: string) {
      if (!looksLikeJwt(credential)) return yield* apiKeys.verify(credential)
      const user = yield* loginSessions.verifyAccess(credential)
      return {
        kind: "jwt",
        userId: user.id,
        username: user.username,
        isSuperuser: user.isSuperuser,
        apiKeyId: null,
        allowedProviderIds: null,
        limits: { requestsPerMinute: null, tokensPerMinute: null },
      } satisfies Principal as Principal
    })

    return { authenticate } as const
  }),
  dependencies: [LoginSessions.Default],
}) {}
