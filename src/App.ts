import { Effect, Layer, Logger, Option } from "effect"
import { AppConfig } from "./config/AppConfig.js"
import { describeEnvFile, type EnvFileOutcome } from "./config/EnvFile.js"
import { ConversationContext } from "./conversation/ConversationContext.js"
import { ResponseStore } from "./conversation/ResponseStore.js"
import { Secrets } from "./crypto/Secrets.js"
import { Gateway } from "./gateway/Gateway.js"
import { Pricing } from "./gateway/Pricing.js"
import { StoredResponses } from "./gateway/StoredResponses.js"
import { TokenCounter } from "./gateway/TokenCounter.js"
import { ConsoleAssets } from "./http/ConsoleAssets.js"
import { Draining } from "./http/Draining.js"
import { makeGenerationEdge } from "./http/GenerationEdge.js"
import { LogLinesTag, makeLogging, parseLogLevel } from "./http/Logging.js"
import { ManagementHttpAppLive } from "./http/management/ManagementHttpApp.js"
import { serve } from "./http/NodeServer.js"
import { httpApp } from "./http/Routes.js"
import { ApiKeyAuth } from "./identity/ApiKeyAuth.js"
import { ApiKeys } from "./identity/ApiKeys.js"
import { Authenticator } from "./identity/Authenticator.js"
import { announceFirstStart, bootstrapAdmin, FirstStart } from "./identity/Bootstrap.js"
import { LoginSessions } from "./identity/LoginSessions.js"
import { RateLimit } from "./identity/RateLimit.js"
import * as SecretKeyCheck from "./identity/SecretKeyCheck.js"
import { Users } from "./identity/Users.js"
import { Metrics } from "./metrics/Metrics.js"
import * as GatewayFileReload from "./registry/GatewayFileReload.js"
import { ProviderRegistry } from "./registry/ProviderRegistry.js"
import { CircuitBreaker } from "./routing/CircuitBreaker.js"
import { KeyPool } from "./routing/KeyPool.js"
import { Router } from "./routing/Router.js"
import { RoutingMetrics } from "./routing/RoutingMetrics.js"
import { Stickiness } from "./routing/Stickiness.js"
import * as Database from "./storage/Database.js"
import { KvLive } from "./storage/KvLive.js"
import { LogicalModelRepository } from "./storage/LogicalModelRepository.js"
import { ProviderAdminRepository } from "./storage/ProviderAdminRepository.js"
import { ProviderRepository } from "./storage/ProviderRepository.js"
import { UserRepository } from "./storage/UserRepository.js"
import { Tracing } from "./telemetry/Tracing.js"
import { ModelCatalog } from "./upstream/ModelCatalog.js"
import * as UpstreamUndici from "./upstream/UpstreamUndici.js"
import { Budgets } from "./usage/Budgets.js"
import { RequestLogReader } from "./usage/RequestLogReader.js"
import { RequestLogWriter } from "./usage/RequestLogWriter.js"
import { UsageLedger } from "./usage/UsageLedger.js"

export interface AppOptions {
  /** Where log lines go (default: standard error). */
  readonly logSink?: (line: string) => void
  /** The `.env` file `main.ts` read (or looked for) before the configuration: logged at start. */
  readonly envFile?: EnvFileOutcome
}

/** Logging per LOG_LEVEL / LOG_TIMEZONE, credentials redacted. */
const loggingLayer = (options: AppOptions) =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const config = yield* AppConfig
      const minimum = parseLogLevel(config.logLevel)
      const { logger, lines } = makeLogging(Option.getOrUndefined(config.logTimezone), minimum, options.logSink)
      return Layer.mergeAll(
        Logger.replace(Logger.defaultLogger, logger),
        Logger.minimumLogLevel(minimum),
        Layer.succeed(LogLinesTag, lines),
      )
    }),
  )

/**
 * 1. Infrastructure: the database (a `SqlClient`), the KV store, secrets, the upstream client
 * (`UpstreamClient` on its pooled undici dispatcher; tests swap in `UpstreamMemory.layer`), and
 * tracing (`Tracing`: off unless an OTLP endpoint is set; flushed after the server has drained).
 */
const InfrastructureLive = Layer.mergeAll(
  Database.layer,
  KvLive,
  Secrets.Default,
  UpstreamUndici.layer,
  Tracing.Default,
)

/**
 * 2. Repositories (`storage/`, the only place SQL runs) that more than one part of the app uses.
 * A service that alone uses a repository names it in its own `dependencies`; the layer is the
 * same value either way, so each repository is built once.
 */
const RepositoriesLive = Layer.mergeAll(UserRepository.Default, ProviderRepository.Default)

/** 3a. Provider state and callers' credentials: the registry snapshot, API-key checks. */
const ProvidersAndAuthLive = Layer.mergeAll(ProviderRegistry.Default, ApiKeyAuth.Default)

/**
 * 3b. Routing state shared by every instance through Kv: circuit breakers, upstream metrics, key
 * states, session bindings. The Router reads and writes it; the routing API (tier 4) inspects it.
 */
const RoutingStateLive = Layer.mergeAll(
  CircuitBreaker.Default,
  RoutingMetrics.Default,
  KeyPool.Default,
  Stickiness.Default,
)

/** 3c. What a generation request uses besides: model lists, routing, conversation context, stored Responses, limits, usage, prices, the request log. */
const RequestServicesLive = Layer.mergeAll(
  ModelCatalog.Default,
  Router.Default,
  ConversationContext.Default,
  ResponseStore.Default,
  RateLimit.Default,
  UsageLedger.Default,
  Pricing.Default,
  RequestLogWriter.Default,
)

/**
 * 3. The data plane: the Gateway (one request's pipeline), the TokenCounter and stored Responses'
 * reads over the metrics (fed by the gateway and the edge, reading the circuits and the request
 * log on scrape) and the budgets (over the usage ledger), over 3c over 3b over 3a.
 */
const DataPlaneLive = Layer.mergeAll(Gateway.Default, TokenCounter.Default, StoredResponses.Default).pipe(
  Layer.provideMerge(Metrics.Default),
  Layer.provideMerge(Budgets.Default),
  Layer.provideMerge(RequestServicesLive),
  Layer.provideMerge(RoutingStateLive),
  Layer.provideMerge(ProvidersAndAuthLive),
)

/**
 * 4a. What only the management API uses: accounts, API keys, logins and the credential check of
 * a management request (`identity/`), provider and logical-model administration (`storage/`),
 * reading the request log (`usage/`, over the data plane's writer).
 */
const AdministrationLive = Layer.mergeAll(
  Users.Default,
  ApiKeys.Default,
  LoginSessions.Default,
  Authenticator.Default,
  ProviderAdminRepository.Default,
  LogicalModelRepository.Default,
  RequestLogReader.Default,
)

/**
 * 4. The management API: its `HttpApp` (`http/management/ManagementHttpApp.ts` assembles the
 * HttpApi's handlers, OpenAPI and /docs) over 4a, beside the data plane it also uses; the web
 * console's built files (`http/ConsoleAssets`), read once, which `/ui` serves.
 */
const ManagementLive = Layer.merge(ManagementHttpAppLive.pipe(Layer.provide(AdministrationLive)), ConsoleAssets.Default)

/**
 * 5. Start-up work that must finish before the server listens: first admin (its credentials
 * file; announced once the server listens), providers file (then watched for edits) — both after
 * the log says where the settings and the secret came from, and the secret is known to be the
 * one the database was written with.
 */
const startupLive = (options: AppOptions) =>
  Layer.mergeAll(Layer.effect(FirstStart, bootstrapAdmin), GatewayFileReload.layer).pipe(
    Layer.provide(SecretKeyCheck.layer),
    Layer.provide(
      options.envFile === undefined
        ? Layer.empty
        : Layer.effectDiscard(Effect.logInfo(describeEnvFile(options.envFile))),
    ),
  )

/**
 * The whole gateway: composed once, launched once by `main.ts` (tests start it the same way).
 * Every service is provided here, nowhere else.
 *
 * Read top to bottom, from the entry point down to the foundation: each line is built on the
 * lines below it — 6 the Node server with both HTTP entry points, 5 start-up work,
 * 4 the management API, 3 the data plane, 2 repositories, 1 infrastructure, 0 logging and
 * configuration. docs/ARCHITECTURE.md ("Layer graph") describes each tier.
 */
export const makeAppLayer = (options: AppOptions = {}) =>
  serve(httpApp, makeGenerationEdge).pipe(
    Layer.tap(() => announceFirstStart),
    Layer.provideMerge(startupLive(options)),
    Layer.provideMerge(ManagementLive),
    Layer.provideMerge(DataPlaneLive),
    Layer.provideMerge(RepositoriesLive),
    Layer.provideMerge(InfrastructureLive),
    Layer.provideMerge(Draining.Default),
    Layer.provide(loggingLayer(options)),
    Layer.provideMerge(AppConfig.Default),
  )

export const AppLive = makeAppLayer()
