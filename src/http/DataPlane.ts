import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Cause, Effect, Option } from "effect"
import { ConversationContext } from "../conversation/ConversationContext.js"
import { CurrentPrincipal } from "../identity/Principal.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { sessionOwner } from "../routing/Stickiness.js"
import { ModelCatalog } from "../upstream/ModelCatalog.js"
import { makeCallerCheck, makeKeyCheck, missingKey } from "./CallerAuth.js"
import { readCredential } from "./Credentials.js"
import { apiError, type ClientDialect, errorResponse } from "./ErrorEnvelope.js"
import { toApiError } from "./ErrorMapping.js"

/**
 * Resolves the caller from its credential and provides it as `CurrentPrincipal`; the request is
 * counted against the key's `requests_per_minute` unless `counted` is false (the model lists).
 */
export const authenticated =
  (dialect: ClientDialect, counted = true) =>
  <A, E, R>(handler: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const credential = readCredential(request, dialect)
      if (credential === undefined) return yield* missingKey(dialect)
      const principal = counted ? yield* (yield* makeCallerCheck)(credential) : yield* (yield* makeKeyCheck)(credential)
      return yield* Effect.provideService(handler, CurrentPrincipal, principal)
    })

/** Every failure becomes an error body in the client's dialect; a defect is logged, never shown. */
export const answerErrors =
  (dialect: ClientDialect) =>
  <E, R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    handler.pipe(
      Effect.catchAllCause((cause) => {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure)) {
          return Effect.succeed(errorResponse(dialect, toApiError(failure.value as never)))
        }
        if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
        return Effect.logError("unexpected failure while handling a request", cause).pipe(
          Effect.as(errorResponse(dialect, toApiError({ _tag: "Defect" }))),
        )
      }),
    )

const providerModels = Effect.gen(function* () {
  const params = yield* HttpRouter.params
  const registry = yield* ProviderRegistry
  const catalog = yield* ModelCatalog
  const principal = yield* CurrentPrincipal
  const id = params.id ?? ""
  const allowed = principal.allowedProviderIds === null || principal.allowedProviderIds.includes(id)
  const snapshot = yield* registry.current
  const models = allowed ? yield* catalog.providerModels(snapshot, id) : Option.none()
  if (Option.isNone(models)) {
    return errorResponse("openai", apiError(404, `Provider '${id}' not found`, { code: "provider_not_found" }))
  }
  return HttpServerResponse.unsafeJson({ object: "list", data: models.value })
}).pipe(authenticated("openai", false), answerErrors("openai"))

/**
 * `GET /context/{session_id}`: the session's stored exchanges, newest first — the caller's own
 * (same API key, or same user); an admin sees every owner's. Anything else is 404, whether the
 * session exists or not: session ids are chosen by clients and may be guessed.
 */
const sessionContextRoute = Effect.gen(function* () {
  const params = yield* HttpRouter.params
  const principal = yield* CurrentPrincipal
  const context = yield* ConversationContext
  const sessionId = params.session_id ?? ""
  const entries = principal.isSuperuser
    ? yield* context.listAll(sessionId)
    : yield* context.list(sessionOwner(principal), sessionId)
  if (entries.length === 0) {
    return errorResponse("openai", apiError(404, `No context stored for session '${sessionId}'`, { code: "not_found" }))
  }
  return HttpServerResponse.unsafeJson({ session_id: sessionId, entries, total: entries.length })
}).pipe(
  Effect.catchTag("KvError", () =>
    Effect.succeed(
      errorResponse(
        "openai",
        apiError(503, "The session store is unavailable; retry later", { code: "store_unavailable" }),
      ),
    ),
  ),
  authenticated("openai"),
  answerErrors("openai"),
)

/** The data-plane routes served by the Effect router besides the model routes (ModelRoutes); the generation routes are `GenerationEdge`'s. */
export const dataPlaneRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/providers/:id/models", providerModels),
  HttpRouter.get("/context/:session_id", sessionContextRoute),
)
