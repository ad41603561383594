import * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { annotateRequestId } from "./AccessLog.js"
import { consoleRoutes } from "./ConsoleRoutes.js"
import { dataPlaneRoutes } from "./DataPlane.js"
import { apiError, errorResponse } from "./ErrorEnvelope.js"
import { excerpt, generationRouteOf } from "./Generation.js"
import { healthRoutes } from "./HealthRoutes.js"
import { metricsRoutes } from "./MetricsRoute.js"
import { modelRoutes } from "./ModelRoutes.js"
import { serveManagement } from "./management/ManagementHttpApp.js"
import { responsesRoutes } from "./ResponsesRoutes.js"
import { dialectOfPath } from "./RouteDialect.js"

const routed = HttpRouter.concatAll(healthRoutes, dataPlaneRoutes, modelRoutes, responsesRoutes, consoleRoutes)

/** A router path (`/v1/models/*`, `/context/:session_id`) as a whole-path pattern. */
const patternOf = (path: string): RegExp =>
  new RegExp(
    `^${path
      .split("/")
      .map((segment) =>
        segment === "*" ? ".*" : segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
      )
      .join("/")}$`,
  )

const routedMethods: ReadonlyArray<{ readonly method: string; readonly pattern: RegExp }> = [...routed.routes].map(
  (route) => ({
    method: route.method,
    pattern: patternOf(route.path),
  }),
)

/** The methods the gateway serves on `path` (its generation routes and its routed data plane); empty when none. */
export const allowedMethods = (path: string): ReadonlyArray<string> => {
  const methods = new Set<string>()
  if (generationRouteOf("POST", path) !== undefined) methods.add("POST")
  for (const route of routedMethods) if (route.pattern.test(path)) methods.add(route.method)
  return [...methods].sort()
}

/**
 * What no route answered, in the dialect of the path's family (`RouteDialect`): a known path
 * with another method is 405 with `Allow`, anything else 404.
 */
const unrouted = (request: HttpServerRequest.HttpServerRequest) => {
  const path = request.url.split("?", 1)[0]!
  const dialect = dialectOfPath(path, request.headers["anthropic-version"])
  const allowed = allowedMethods(path)
  const shown = excerpt(path, 200)
  if (allowed.length === 0) {
    return errorResponse(dialect, apiError(404, `Unknown endpoint: ${request.method} ${shown}`, { code: "not_found" }))
  }
  const refused = errorResponse(
    dialect,
    apiError(405, `Method ${request.method} is not allowed on ${shown}: use ${allowed.join(" or ")}`, {
      code: "method_not_allowed",
    }),
  )
  return HttpServerResponse.setHeader(refused, "allow", allowed.join(", "))
}

/**
 * Every route of the gateway: health, data plane and the web console (`/ui`, `/` redirecting to it) first, then `GET /metrics` (apart: with
 * METRICS=off it is no route, so it is not in `allowedMethods` either), then the management API
 * (HttpApi, with /docs and /openapi.json), with JSON errors for unknown paths and methods; every log line
 * of a routed request carries its id (the server writes the access line for every request,
 * AccessLog.ts).
 */
export const httpApp = routed.pipe(
  Effect.catchTag("RouteNotFound", () => metricsRoutes),
  Effect.catchTag("RouteNotFound", () => serveManagement),
  Effect.catchTag("RouteNotFound", (error) => Effect.succeed(unrouted(error.request))),
  annotateRequestId,
)
