import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { CurrentPrincipal } from "../identity/Principal.js"
import { Metrics } from "../metrics/Metrics.js"
import { answerErrors, authenticated } from "./DataPlane.js"
import { apiError, errorResponse } from "./ErrorEnvelope.js"

/** The exposition, in Prometheus text format (prom-client writes it). */
const exposition = Effect.gen(function* () {
  const metrics = yield* Metrics
  const text = yield* Effect.promise(metrics.scrape)
  return HttpServerResponse.text(text, { contentType: metrics.contentType })
})

/**
 * METRICS=master: the master key or a superuser's API key, sent as on the data plane
 * (`Authorization: Bearer`, `X-API-Key`). A login (JWT) is not taken: a scraper needs a credential
 * that does not expire, and the data plane's check is the one that reads API keys.
 */
const forSuperusers = Effect.gen(function* () {
  const principal = yield* CurrentPrincipal
  if (!principal.isSuperuser) {
    return errorResponse(
      "openai",
      apiError(403, "Reading /metrics needs the master key or a superuser's API key", { code: "forbidden" }),
    )
  }
  return yield* exposition
  // Not counted against the key's requests_per_minute: a scraper's reads are not model requests.
}).pipe(authenticated("openai", false))

/**
 * `GET /metrics` per METRICS: `open` to anyone, `master` to superusers, `off` as no route at all
 * (the server's 404 for an unknown path).
 */
const metricsRoute = Effect.gen(function* () {
  const metrics = yield* Metrics
  switch (metrics.mode) {
    case "off":
      return yield* new HttpServerError.RouteNotFound({ request: yield* HttpServerRequest.HttpServerRequest })
    case "open":
      return yield* answerErrors("openai")(exposition)
    case "master":
      return yield* answerErrors("openai")(forSuperusers)
  }
})

/** Tried after the other routes (http/Routes.ts): with METRICS=off the path falls through to the 404 of unknown paths. */
export const metricsRoutes = HttpRouter.empty.pipe(HttpRouter.get("/metrics", metricsRoute))
