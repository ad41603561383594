import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Either, Option } from "effect"
import { InvalidRequest } from "../gateway/GatewayError.js"
import { CurrentPrincipal } from "../identity/Principal.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { ModelCatalog } from "../upstream/ModelCatalog.js"
import { answerErrors, authenticated } from "./DataPlane.js"
import { apiError, type ClientDialect, errorResponse } from "./ErrorEnvelope.js"
import { excerpt } from "./Generation.js"
import { anthropicModel, anthropicPage, geminiModel, geminiPage, type PagingProblem } from "./ModelListing.js"

/**
 * The model endpoints of the three dialects, each authenticated with its dialect's credential
 * and answering errors in its shape:
 *
 *   GET /v1/models, /models                 OpenAI list — Anthropic's (paged) when the request carries `anthropic-version`
 *   GET /v1/models/{id}, /models/{id}       one model (ids may hold `/`), likewise in either shape
 *   GET /v1beta/models                      Gemini list (paged)
 *   GET /v1beta/models/{model}              one Gemini model
 *
 * The list is the caller's (`ModelCatalog.aggregate`: allowed providers, logical models); one
 * model is any id of it or any name that routes for the caller (`ModelCatalog.find`).
 */

const callerList = Effect.gen(function* () {
  const registry = yield* ProviderRegistry
  const catalog = yield* ModelCatalog
  const principal = yield* CurrentPrincipal
  return yield* catalog.aggregate(yield* registry.current, principal.allowedProviderIds)
})

const query = Effect.map(HttpServerRequest.ParsedSearchParams, (params) => (name: string) => {
  const value = params[name]
  return typeof value === "string" ? value : undefined
})

const pagingError = (problem: PagingProblem) => new InvalidRequest({ message: problem.message, param: problem.param })

const openAiList = callerList.pipe(Effect.map((list) => HttpServerResponse.unsafeJson(list)))

const anthropicList = Effect.gen(function* () {
  const list = yield* callerList
  const get = yield* query
  const page = anthropicPage(list.data, { limit: get("limit"), after_id: get("after_id"), before_id: get("before_id") })
  if (Either.isLeft(page)) return yield* pagingError(page.left)
  return HttpServerResponse.unsafeJson(page.right)
})

const geminiList = Effect.gen(function* () {
  const list = yield* callerList
  const get = yield* query
  const page = geminiPage(list.data, { pageSize: get("pageSize"), pageToken: get("pageToken") })
  if (Either.isLeft(page)) return yield* pagingError(page.left)
  return HttpServerResponse.unsafeJson(page.right)
})

const notFound = (dialect: ClientDialect, id: string) =>
  errorResponse(
    dialect,
    apiError(404, `The model ${excerpt(id, 200)} does not exist or you do not have access to it`, {
      code: "model_not_found",
      param: "model",
    }),
  )

/** A Gemini method path (`{model}:generateContent` …): those are POST routes, not a model id with a colon. */
const GEMINI_ACTION =
  /:(generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents|batchGenerateContent|predict|predictLongRunning)$/

/** One model in `dialect`'s shape: the id is the path's rest (`*`), decoded by the router. */
const oneModel = (dialect: ClientDialect) =>
  Effect.gen(function* () {
    const id = (yield* HttpRouter.params)["*"] ?? ""
    if (dialect === "gemini" && GEMINI_ACTION.test(id)) {
      const refused = errorResponse(
        "gemini",
        apiError(405, `Method GET is not allowed on a Gemini method path ${excerpt(id, 200)}: use POST`, {
          code: "method_not_allowed",
        }),
      )
      return HttpServerResponse.setHeader(refused, "allow", "POST")
    }
    const registry = yield* ProviderRegistry
    const catalog = yield* ModelCatalog
    const principal = yield* CurrentPrincipal
    const found =
      id === "" ? Option.none() : yield* catalog.find(yield* registry.current, id, principal.allowedProviderIds)
    if (Option.isNone(found)) return notFound(dialect, id)
    const entry = found.value
    return HttpServerResponse.unsafeJson(
      dialect === "anthropic" ? anthropicModel(entry) : dialect === "gemini" ? geminiModel(entry) : entry,
    )
  })

/** A route served in `dialect` with its credential and its error shape; not counted against the key's requests_per_minute. */
const inDialect = <E, R>(dialect: ClientDialect, handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  handler.pipe(authenticated(dialect, false), answerErrors(dialect))

/** OpenAI's or, with `anthropic-version`, Anthropic's form of a `/v1/models…` route. */
const openAiOrAnthropic = <E1, R1, E2, R2>(
  openai: Effect.Effect<HttpServerResponse.HttpServerResponse, E1, R1>,
  anthropic: Effect.Effect<HttpServerResponse.HttpServerResponse, E2, R2>,
) => {
  const asOpenAi = inDialect("openai", openai)
  const asAnthropic = inDialect("anthropic", anthropic)
  return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.if(request.headers["anthropic-version"] === undefined, {
      onTrue: () => asOpenAi,
      onFalse: () => asAnthropic,
    }),
  )
}

const listRoute = openAiOrAnthropic(openAiList, anthropicList)
const oneRoute = openAiOrAnthropic(oneModel("openai"), oneModel("anthropic"))

export const modelRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/v1/models", listRoute),
  HttpRouter.get("/models", listRoute),
  HttpRouter.get("/v1/models/*", oneRoute),
  HttpRouter.get("/models/*", oneRoute),
  HttpRouter.get("/v1beta/models", inDialect("gemini", geminiList)),
  HttpRouter.get("/v1beta/models/*", inDialect("gemini", oneModel("gemini"))),
)
