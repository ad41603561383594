import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerError from "@effect/platform/HttpServerError"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Context, Effect, Layer, Option, type Scope } from "effect"
import { ApiKeysHandlers } from "./ApiKeysHandlers.js"
import { AuthHandlers } from "./AuthHandlers.js"
import { BudgetsHandlers } from "./BudgetsHandlers.js"
import { DocsPageLive } from "./DocsPage.js"
import { DecodeErrorsLive } from "./Errors.js"
import { LogicalModelsHandlers } from "./LogicalModelsHandlers.js"
import { LogsHandlers } from "./LogsHandlers.js"
import { ManagementApi } from "./ManagementApi.js"
import { ProvidersHandlers } from "./ProvidersHandlers.js"
import { RoutingHandlers } from "./RoutingHandlers.js"
import { AnyCredentialLive, AuthenticatedLive, SuperuserLive } from "./Security.js"
import { SystemHandlers } from "./SystemHandlers.js"
import { refuseUnstorableInput } from "./UnstorableInput.js"
import { UsageHandlers } from "./UsageHandlers.js"
import { UsersHandlers } from "./UsersHandlers.js"

/**
 * The management API as one `HttpApp` (its routes, /openapi.json and the /docs page), for the
 * server's router to fall back on after the data-plane routes.
 */
export class ManagementHttpApp extends Context.Tag("gateway/http/ManagementHttpApp")<
  ManagementHttpApp,
  Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    HttpServerError.RouteNotFound,
    HttpServerRequest.HttpServerRequest | Scope.Scope
  >
>() {}

const isRouteNotFound = (error: unknown): error is HttpServerError.RouteNotFound =>
  HttpServerError.isServerError(error) && error._tag === "RouteNotFound"

const HandlersLive = Layer.mergeAll(
  SystemHandlers,
  AuthHandlers,
  UsersHandlers,
  ApiKeysHandlers,
  ProvidersHandlers,
).pipe(Layer.provide(Layer.mergeAll(AuthenticatedLive, AnyCredentialLive, SuperuserLive)))

/** Logical models and routing inspection, for superusers. */
const RoutingHandlersLive = Layer.mergeAll(LogicalModelsHandlers, RoutingHandlers).pipe(Layer.provide(SuperuserLive))

/** Usage and the request log, for any authenticated caller (the handlers narrow what each one sees). */
const UsageHandlersLive = Layer.mergeAll(UsageHandlers, LogsHandlers).pipe(Layer.provide(AnyCredentialLive))

/** Budgets: reading for the owner or a superuser, setting for superusers (per endpoint). */
const BudgetsHandlersLive = BudgetsHandlers.pipe(Layer.provide(Layer.mergeAll(AuthenticatedLive, SuperuserLive)))

/**
 * The HttpApi assembled: its handler groups with their security middleware, the OpenAPI document,
 * /docs and the platform pieces the builder needs. Every service the handlers use (identity,
 * administration, routing state, the data plane's) is provided by `src/App.ts`, tier 4 and below.
 */
export const ManagementHttpAppLive = Layer.effect(
  ManagementHttpApp,
  Effect.gen(function* () {
    const app = yield* HttpApiBuilder.httpApp
    // Platform services the builder's type asks for (file responses, etags); none is used per request.
    const context = yield* Effect.context<HttpRouter.HttpRouter.DefaultServices>()
    return refuseUnstorableInput(Effect.provide(app, context)).pipe(
      // Unknown paths go back to the server's router; a defect is logged and answered with JSON.
      Effect.catchAllCause((cause) => {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure) && isRouteNotFound(failure.value)) return Effect.fail(failure.value)
        if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
        return Effect.logError("unexpected failure in the management API", cause).pipe(
          Effect.as(
            HttpServerResponse.unsafeJson(
              { _tag: "InternalError", message: "Internal gateway error" },
              { status: 500 },
            ),
          ),
        )
      }),
    ) as Effect.Effect<
      HttpServerResponse.HttpServerResponse,
      HttpServerError.RouteNotFound,
      HttpServerRequest.HttpServerRequest | Scope.Scope
    >
  }),
).pipe(
  Layer.provide(DocsPageLive),
  Layer.provide(DecodeErrorsLive),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(
    HttpApiBuilder.api(ManagementApi).pipe(
      Layer.provide(Layer.mergeAll(HandlersLive, RoutingHandlersLive, UsageHandlersLive, BudgetsHandlersLive)),
    ),
  ),
  Layer.provide(
    Layer.mergeAll(HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer, NodeHttpServer.layerContext),
  ),
)

/** The management app for a request that no other route took. */
export const serveManagement = Effect.flatMap(ManagementHttpApp, (app) => app)
