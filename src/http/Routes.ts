import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { annotateRequestId } from "./AccessLog.js"
import { dataPlaneRoutes } from "./DataPlane.js"
import { apiError, errorBody } from "./ErrorEnvelope.js"
import { healthRoutes } from "./HealthRoutes.js"
import { serveManagement } from "./management/ManagementHttpApp.js"

const notFound = (method: string, url: string) =>
  HttpServerResponse.unsafeJson(errorBody("openai", apiError(404, `Unknown endpoint: ${method} ${url.split("?", 1)[0]}`, { code: "not_found" })), {
    status: 404,
  })

/**
 * Every route of the gateway: health and data plane first, then the management API (HttpApi,
 * with /docs and /openapi.json), with JSON errors for unknown paths; every log line of a routed
 * request carries its id (the server writes the access line for every request, AccessLog.ts).
 */
export const httpApp = HttpRouter.concatAll(healthRoutes, dataPlaneRoutes).pipe(
  Effect.catchTag("RouteNotFound", () => serveManagement),
  Effect.catchTag("RouteNotFound", (error) => Effect.succeed(notFound(error.request.method, error.request.url))),
  annotateRequestId,
)
