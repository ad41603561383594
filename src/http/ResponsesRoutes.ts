import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Either } from "effect"
import { InvalidRequest } from "../gateway/GatewayError.js"
import { ResponseNotFound, StoredResponses } from "../gateway/StoredResponses.js"
import { CurrentPrincipal } from "../identity/Principal.js"
import { RESPONSE_ID, readItemListQuery } from "../protocol/openai-responses/Stored.js"
import { answerErrors, authenticated } from "./DataPlane.js"

/** The `{id}` of the path: an id the gateway could have handed out, else no such response. */
const responseId = Effect.flatMap(HttpRouter.params, (params) => {
  const id = params.id ?? ""
  // Quoted in the error: printable and short.
  return RESPONSE_ID.test(id)
    ? Effect.succeed(id)
    : Effect.fail(new ResponseNotFound({ id: id.slice(0, 64).replace(/[^\x20-\x7e]/g, "?") }))
})

const json = (text: string) => HttpServerResponse.text(text, { contentType: "application/json" })

/** Runs `handler(principal, id)` for the caller's own response `{id}`, answering errors in OpenAI's shape. */
const route = <E, R>(handler: (stored: StoredResponses, id: string) => Effect.Effect<string, E, R>) =>
  Effect.gen(function* () {
    const id = yield* responseId
    const text = yield* handler(yield* StoredResponses, id)
    return json(text)
  }).pipe(authenticated("openai"), answerErrors("openai"))

const retrieve = route((stored, id) => Effect.flatMap(CurrentPrincipal, (principal) => stored.retrieve(principal, id)))

const remove = route((stored, id) => Effect.flatMap(CurrentPrincipal, (principal) => stored.remove(principal, id)))

const cancel = route((stored, id) => Effect.flatMap(CurrentPrincipal, (principal) => stored.cancel(principal, id)))

const inputItems = route((stored, id) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const search = request.url.indexOf("?")
    const query = readItemListQuery(new URLSearchParams(search < 0 ? "" : request.url.slice(search + 1)))
    if (Either.isLeft(query))
      return yield* new InvalidRequest({
        message: query.left.message,
        ...(query.left.param ? { param: query.left.param } : {}),
      })
    return yield* stored.inputItems(yield* CurrentPrincipal, id, query.right)
  }),
)

/**
 * Stored Responses (docs/ARCHITECTURE.md, "Stored Responses"): `GET`/`DELETE /v1/responses/{id}`,
 * `GET /v1/responses/{id}/input_items` and `POST /v1/responses/{id}/cancel` (also without `/v1`),
 * the caller's own responses only.
 */
export const responsesRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/v1/responses/:id", retrieve),
  HttpRouter.get("/responses/:id", retrieve),
  HttpRouter.del("/v1/responses/:id", remove),
  HttpRouter.del("/responses/:id", remove),
  HttpRouter.get("/v1/responses/:id/input_items", inputItems),
  HttpRouter.get("/responses/:id/input_items", inputItems),
  HttpRouter.post("/v1/responses/:id/cancel", cancel),
  HttpRouter.post("/responses/:id/cancel", cancel),
)
