import { Effect } from "effect"
import { ApiKeyAuth, AuthError } from "../identity/ApiKeyAuth.js"
import type { Principal } from "../identity/Principal.js"
import { isLimited, RateLimit, type RateLimited } from "../identity/RateLimit.js"
import { type RequestRecord, setCaller } from "../shared/RequestRecord.js"
import type { ClientDialect } from "./ErrorEnvelope.js"
import { credentialHeader } from "./RouteDialect.js"

const missing = (dialect: ClientDialect) =>
  new AuthError({ status: 401, message: `Missing API key: send '${credentialHeader(dialect)}'` })

const MISSING = { openai: missing("openai"), anthropic: missing("anthropic"), gemini: missing("gemini") } as const

/** A data-plane request without a credential (401; no lookup is made), naming the dialect's credential header. */
export const missingKey = (dialect: ClientDialect): AuthError => MISSING[dialect]

/**
 * The data plane's caller check, the same on every data-plane route (the generation edge and the
 * routed `/v1/models`, `/context` …): the API key is verified, then the caller's request rate is
 * counted. Built once; the check itself reads no service per request. A request-log `record`
 * learns the caller before the rate is counted, so a refused request is logged as theirs.
 */
export const makeCallerCheck = Effect.gen(function* () {
  const auth = yield* ApiKeyAuth
  const rateLimit = yield* RateLimit
  // A caller without limits (the master key, most keys) is admitted as it is: no counting step.
  const admit = (principal: Principal): Effect.Effect<Principal, RateLimited> =>
    isLimited(principal) ? Effect.as(rateLimit.checkRequest(principal), principal) : Effect.succeed(principal)
  return (credential: string, record?: RequestRecord) =>
    Effect.flatMap(auth.verify(credential), (principal) => {
      setCaller(record, principal)
      return admit(principal)
    })
})
