import { Effect } from "effect"
import { ApiKeyAuth, AuthError } from "../identity/ApiKeyAuth.js"
import type { Principal } from "../identity/Principal.js"
import { isLimited, RateLimit, type RateLimited, type RateLimitState } from "../identity/RateLimit.js"
import { type RequestRecord, setCaller } from "../shared/RequestRecord.js"
import type { ClientDialect } from "./ErrorEnvelope.js"
import { credentialHeader } from "./RouteDialect.js"

const missing = (dialect: ClientDialect) =>
  new AuthError({ status: 401, message: `Missing API key: send '${credentialHeader(dialect)}'` })

const MISSING = { openai: missing("openai"), anthropic: missing("anthropic"), gemini: missing("gemini") } as const

/** A data-plane request without a credential (401; no lookup is made), naming the dialect's credential header. */
export const missingKey = (dialect: ClientDialect): AuthError => MISSING[dialect]

/** Where the caller check leaves a limited key's standing (for the `x-ratelimit-*` headers); untouched for a key without limits. */
export interface RateLimitSink {
  rateLimit: RateLimitState | undefined
}

/**
 * The data plane's caller check, the same on every data-plane route (the generation edge and the
 * routed `/context`, stored Responses …): the API key is verified, then the caller's request rate
 * is counted. Built once; the check itself reads no service per request. A request-log `record`
 * learns the caller before the rate is counted, so a refused request is logged as theirs; `sink`
 * learns where a limited key stands, refused or not.
 */
export const makeCallerCheck = Effect.gen(function* () {
  const auth = yield* ApiKeyAuth
  const rateLimit = yield* RateLimit
  // A caller without limits (the master key, most keys) is admitted as it is: no counting step.
  const admit = (principal: Principal, sink: RateLimitSink | undefined): Effect.Effect<Principal, RateLimited> =>
    isLimited(principal)
      ? Effect.mapBoth(rateLimit.checkRequest(principal), {
          onFailure: (refused) => {
            if (sink !== undefined) sink.rateLimit = refused.state
            return refused
          },
          onSuccess: (state) => {
            if (sink !== undefined) sink.rateLimit = state
            return principal
          },
        })
      : Effect.succeed(principal)
  return (credential: string, record?: RequestRecord, sink?: RateLimitSink) =>
    Effect.flatMap(auth.verify(credential), (principal) => {
      setCaller(record, principal)
      return admit(principal, sink)
    })
})

/**
 * The caller check of the model-list routes: the API key verified, no request counted against
 * `requests_per_minute` — a list is read from memory and calls no model (README, "Rate limits").
 */
export const makeKeyCheck = Effect.map(ApiKeyAuth, (auth) => (credential: string) => auth.verify(credential))
