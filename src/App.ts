import { Effect, Layer, Logger, Option } from "effect"
import { AppConfig } from "./config/AppConfig.js"
import { Gateway } from "./gateway/Gateway.js"
import { LogLinesTag, makeLogging, parseLogLevel } from "./http/Logging.js"
import { makeGenerationEdge } from "./http/GenerationEdge.js"
import { serve } from "./http/NodeServer.js"
import { httpApp } from "./http/Router.js"
import { ManagementAppLive } from "./http/management/ManagementApp.js"
import { RateLimit } from "./identity/RateLimit.js"
import { ApiKeyAuth } from "./identity/ApiKeyAuth.js"
import { bootstrapAdmin } from "./identity/Bootstrap.js"
import { Secrets } from "./crypto/Secrets.js"
import { ModelCatalog } from "./upstream/ModelCatalog.js"
import { ProviderRegistry } from "./registry/ProviderRegistry.js"
import { KeyPool } from "./routing/KeyPool.js"
import { Router } from "./routing/Router.js"
import { SessionContext } from "./sessions/SessionContext.js"
import * as GatewayFileImport from "./registry/GatewayFileImport.js"
import { ProviderRepository } from "./storage/ProviderRepository.js"
import * as Database from "./storage/Database.js"
import { KvLive } from "./storage/KvLive.js"
import { UpstreamClient, UpstreamHttpLive } from "./upstream/UpstreamClient.js"
import { UsageLedger } from "./usage/UsageLedger.js"

export interface AppOptions {
  /** Where log lines go (default: standard error). */
  readonly logSink?: (line: string) => void
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

/** Storage, secrets and the upstream HTTP pool. */
const InfrastructureLive = Layer.mergeAll(Database.layer, KvLive, Secrets.Default, UpstreamHttpLive)

/** Start-up work that must finish before the server listens: first admin, providers file. */
const StartupLive = Layer.mergeAll(Layer.effectDiscard(bootstrapAdmin), GatewayFileImport.layer)

const ServicesLive = Gateway.Default.pipe(
  Layer.provideMerge(Layer.mergeAll(ModelCatalog.Default, Router.Default, KeyPool.Default, SessionContext.Default, RateLimit.Default, UsageLedger.Default)),
  Layer.provideMerge(Layer.mergeAll(UpstreamClient.Default, ProviderRegistry.Default, ProviderRepository.Default, ApiKeyAuth.Default)),
)

/** The whole gateway: composed once, launched once by `main.ts` (tests start it the same way). */
export const makeAppLayer = (options: AppOptions = {}) =>
  serve(httpApp, makeGenerationEdge).pipe(
    Layer.provide(StartupLive),
    Layer.provideMerge(ManagementAppLive),
    Layer.provideMerge(ServicesLive),
    Layer.provideMerge(InfrastructureLive),
    Layer.provide(loggingLayer(options)),
    Layer.provideMerge(AppConfig.Default),
  )

export const AppLive = makeAppLayer()
