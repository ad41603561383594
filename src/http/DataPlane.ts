import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Effect, Either, Option } from "effect"
import { type GatewayAnswer, Gateway } from "../gateway/Gateway.js"
import type { Dialect } from "../protocol/Canonical.js"
import { detectChatBody, wantsStream } from "../protocol/detect.js"
import { codecs } from "../protocol/Dialect.js"
import { InvalidRequest } from "../gateway/GatewayError.js"
import { ApiKeyAuth, AuthError } from "../identity/ApiKeyAuth.js"
import { CurrentPrincipal } from "../identity/Principal.js"
import { RateLimit } from "../identity/RateLimit.js"
import { ModelCatalog } from "../registry/ModelCatalog.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { readCredential } from "./Credentials.js"
import { apiError, type ClientDialect, errorResponse } from "./ErrorEnvelope.js"
import { toApiError } from "./ErrorMapping.js"
import { readJsonObject } from "./RequestBody.js"
import { sessionOwner } from "../routing/Stickiness.js"
import { SessionContext } from "../sessions/SessionContext.js"

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
      yield* (yield* RateLimit).checkRequest(principal)
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

/** The client dialect → the shape of its HTTP error bodies. */
const errorDialect = (dialect: Dialect): ClientDialect =>
  dialect === "anthropic" ? "anthropic" : dialect === "gemini" ? "gemini" : "openai"

interface Generation {
  readonly dialect: Dialect
  readonly body: Record<string, unknown>
  readonly model: string
  readonly stream: boolean
}

const runGeneration = (generation: Generation) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const principal = yield* CurrentPrincipal
    const gateway = yield* Gateway
    const answer = yield* gateway.handle({ ...generation, principal, sessionId: request.headers["x-session-id"] })
    return toHttpResponse(answer)
  })

const modelOf = (body: Record<string, unknown>) =>
  typeof body.model === "string" && body.model.trim() !== ""
    ? Effect.succeed(body.model)
    : Effect.fail(new InvalidRequest({ message: "you must provide a model parameter", param: "model" }))

/**
 * `/v1/chat/completions`: OpenAI chat, and also Claude-style or Gemini-style bodies (seed §6.2),
 * which are normalised to OpenAI chat here so that everything after sees one dialect.
 */
const chatCompletions = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const raw = yield* readJsonObject
  const model = yield* modelOf(raw)
  const stream = wantsStream(raw, request.headers["accept"])
  const detected = detectChatBody(raw)
  let body = raw
  if (detected !== "openai-chat") {
    const canonical = codecs[detected].decodeRequest(raw, { model, stream })
    if (Either.isLeft(canonical)) return yield* new InvalidRequest({ message: canonical.left.message })
    body = codecs["openai-chat"].encodeRequest(canonical.right, model, { stream }).body as Record<string, unknown>
  }
  return yield* runGeneration({ dialect: "openai-chat", body, model, stream })
}).pipe(authenticated("openai"), answerErrors("openai"))

/** A route whose body is entirely in one dialect (Responses, Anthropic Messages). */
const generation = (dialect: Dialect) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = yield* readJsonObject
    const model = yield* modelOf(body)
    return yield* runGeneration({ dialect, body, model, stream: wantsStream(body, request.headers["accept"]) })
  }).pipe(authenticated(errorDialect(dialect)), answerErrors(errorDialect(dialect)))

/** Gemini: `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`. */
const geminiGeneration = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const path = request.url.split("?", 1)[0]!
  const tail = decodeURIComponent(path.slice(path.indexOf("/models/") + "/models/".length))
  const colon = tail.lastIndexOf(":")
  const model = colon > 0 ? tail.slice(0, colon) : ""
  const action = colon > 0 ? tail.slice(colon + 1) : ""
  if (model === "" || (action !== "generateContent" && action !== "streamGenerateContent")) {
    return yield* new InvalidRequest({ message: `Unknown Gemini method '${tail}'` })
  }
  const body = yield* readJsonObject
  return yield* runGeneration({ dialect: "gemini", body, model, stream: action === "streamGenerateContent" })
}).pipe(authenticated("gemini"), answerErrors("gemini"))

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

/**
 * `GET /context/{session_id}`: the session's stored exchanges, newest first — the caller's own
 * (same API key, or same user); an admin sees every owner's. Anything else is 404, whether the
 * session exists or not (W6: session ids are guessable).
 */
const sessionContextRoute = Effect.gen(function* () {
  const params = yield* HttpRouter.params
  const principal = yield* CurrentPrincipal
  const context = yield* SessionContext
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
    Effect.succeed(errorResponse("openai", apiError(503, "The session store is unavailable; retry later", { code: "store_unavailable" }))),
  ),
  authenticated("openai"),
  answerErrors("openai"),
)

export const dataPlaneRoutes = HttpRouter.empty.pipe(
  HttpRouter.post("/v1/chat/completions", chatCompletions),
  HttpRouter.post("/chat/completions", chatCompletions),
  HttpRouter.post("/v1/responses", generation("openai-responses")),
  HttpRouter.post("/responses", generation("openai-responses")),
  HttpRouter.post("/v1/messages", generation("anthropic")),
  HttpRouter.post("/v1beta/models/*", geminiGeneration),
  HttpRouter.get("/v1/models", listModels),
  HttpRouter.get("/models", listModels),
  HttpRouter.get("/providers/:id/models", providerModels),
  HttpRouter.get("/context/:session_id", sessionContextRoute),
)
