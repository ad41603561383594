import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Effect, Option } from "effect"
import { type GatewayAnswer, Gateway } from "../gateway/Gateway.js"
import type { InboundApi } from "../gateway/Exchange.js"
import { InvalidRequest } from "../gateway/GatewayError.js"
import { ApiKeyAuth, AuthError } from "../identity/ApiKeyAuth.js"
import { CurrentPrincipal } from "../identity/Principal.js"
import { ModelCatalog } from "../registry/ModelCatalog.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { readCredential } from "./Credentials.js"
import { apiError, type ClientDialect, errorResponse } from "./ErrorEnvelope.js"
import { toApiError } from "./ErrorMapping.js"
import { readJsonObject } from "./RequestBody.js"

/** Resolves the caller from its credential and provides it as `CurrentPrincipal`. */
export const authenticated = (dialect: ClientDialect) =>
  <A, E, R>(handler: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const credential = readCredential(request, dialect)
      if (credential === undefined) {
        return yield* new AuthError({ status: 401, message: "Missing API key: send 'Authorization: Bearer <key>'" })
      }
      const auth = yield* ApiKeyAuth
      const principal = yield* auth.verify(credential)
      return yield* Effect.provideService(handler, CurrentPrincipal, principal)
    })

/** Every failure becomes an error body in the client's dialect; a defect is logged, never shown. */
export const answerErrors = (dialect: ClientDialect) =>
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

const servedHeaders = (answer: GatewayAnswer) => ({
  "x-apiproxy-provider": answer.served.provider,
  "x-apiproxy-model": answer.served.model,
  "x-apiproxy-attempts": String(answer.served.attempts),
})

export const toHttpResponse = (answer: GatewayAnswer): HttpServerResponse.HttpServerResponse =>
  answer._tag === "Json"
    ? HttpServerResponse.text(answer.body, { contentType: "application/json", headers: servedHeaders(answer) })
    : HttpServerResponse.stream(answer.body, {
        contentType: "text/event-stream",
        headers: { ...servedHeaders(answer), "cache-control": "no-cache", "x-accel-buffering": "no" },
      })

/** `stream: true` streams; so does `Accept: text/event-stream` unless the body says `stream: false`. */
export const wantsStream = (body: Record<string, unknown>, accept: string | undefined): boolean =>
  body.stream === true || (body.stream !== false && (accept ?? "").includes("text/event-stream"))

const generation = (api: InboundApi, dialect: ClientDialect) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = yield* readJsonObject
    const model = body.model
    if (typeof model !== "string" || model.trim() === "") {
      return yield* new InvalidRequest({ message: "you must provide a model parameter", param: "model" })
    }
    const principal = yield* CurrentPrincipal
    const gateway = yield* Gateway
    const answer = yield* gateway.handle({
      api,
      body,
      model,
      stream: wantsStream(body, request.headers["accept"]),
      principal,
      sessionId: request.headers["x-session-id"],
    })
    return toHttpResponse(answer)
  }).pipe(authenticated(dialect), answerErrors(dialect))

const listModels = Effect.gen(function* () {
  const registry = yield* ProviderRegistry
  const catalog = yield* ModelCatalog
  const principal = yield* CurrentPrincipal
  const snapshot = yield* registry.current
  const list = yield* catalog.aggregate(snapshot, principal.allowedProviderIds)
  return HttpServerResponse.unsafeJson(list)
}).pipe(authenticated("openai"), answerErrors("openai"))

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
}).pipe(authenticated("openai"), answerErrors("openai"))

export const dataPlaneRoutes = HttpRouter.empty.pipe(
  HttpRouter.post("/v1/chat/completions", generation("openai-chat", "openai")),
  HttpRouter.post("/chat/completions", generation("openai-chat", "openai")),
  HttpRouter.post("/v1/responses", generation("openai-responses", "openai")),
  HttpRouter.post("/responses", generation("openai-responses", "openai")),
  HttpRouter.get("/v1/models", listModels),
  HttpRouter.get("/models", listModels),
  HttpRouter.get("/providers/:id/models", providerModels),
)
