import type * as SqlError from "@effect/sql/SqlError"
import { Effect, Either, Layer, Option, Ref, Schedule, Stream } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { describeProblem, type GatewayFileError, parseGatewayFile, readGatewayFileText } from "../config/GatewayFile.js"
import { gatewayFileChanges } from "../config/GatewayFileWatch.js"
import type { KvError } from "../storage/Kv.js"
import type { ProviderRepository } from "../storage/ProviderRepository.js"
import { applyGatewayFile, type ImportSummary, importAtStart } from "./GatewayFileImport.js"
import { ProviderRegistry, type RegistryLoadError } from "./ProviderRegistry.js"

/**
 * Hot reload of the providers file (GATEWAY_CONFIG_WATCH, on by default): when the file changes
 * on disk it is read and validated again; a valid file is applied as at start (the same
 * idempotent import, then every instance's registry reloads) and one line says what changed; an
 * invalid one is not applied — the running configuration stays — and each of its problems is
 * logged with its line, column and path. A file that is gone is logged and waited for.
 */

/** Logged problems of one refused edit at most (the error keeps them all). */
const MAX_LOGGED_PROBLEMS = 50

/** A write the database refused (it is away): tried again 1, 2, 4, 8, 16 s later, then left for the next edit. */
const APPLY_RETRY = Schedule.exponential("1 second").pipe(Schedule.intersect(Schedule.recurs(5)))

/** After the watch itself failed (the file's directory removed): watch again, 1 s doubling to every 30 s. */
const REWATCH = Schedule.exponential("1 second").pipe(Schedule.either(Schedule.spaced("30 seconds")))

const names = (label: string, ids: ReadonlyArray<string>): Array<string> =>
  ids.length === 0 ? [] : [`${label} ${ids.join(", ")}`]

/** `providers created a, b; updated c; keys +1 ~0 -2; logical models created x`, or `no change`. */
export const describeChanges = (summary: ImportSummary): string => {
  const keys =
    summary.keysCreated + summary.keysUpdated + summary.keysRemoved > 0
      ? [`keys +${summary.keysCreated} ~${summary.keysUpdated} -${summary.keysRemoved}`]
      : []
  const providers = [
    ...names("created", summary.providersCreated),
    ...names("updated", summary.providersUpdated),
    ...names("pruned", summary.providersPruned),
  ]
  const logical = [
    ...names("created", summary.logicalModelsCreated),
    ...names("updated", summary.logicalModelsUpdated),
    ...names("pruned", summary.logicalModelsPruned),
  ]
  const parts = [
    ...(providers.length === 0 ? [] : [`providers ${providers.join(", ")}`]),
    ...keys,
    ...(logical.length === 0 ? [] : [`logical models ${logical.join(", ")}`]),
  ]
  return parts.length === 0 ? "no change" : parts.join("; ")
}

/** Every problem of a refused edit, one line each, and that the running configuration stays. */
const logRefused = (error: GatewayFileError) =>
  Effect.gen(function* () {
    yield* Effect.logError(
      `providers file not applied (${error.problems.length} problem(s)); the running configuration stays`,
    ).pipe(Effect.annotateLogs({ file: error.file }))
    for (const problem of error.problems.slice(0, MAX_LOGGED_PROBLEMS)) {
      yield* Effect.logError("providers file problem").pipe(
        Effect.annotateLogs({ file: error.file, problem: describeProblem(problem) }),
      )
    }
    if (error.problems.length > MAX_LOGGED_PROBLEMS) {
      yield* Effect.logError(`… and ${error.problems.length - MAX_LOGGED_PROBLEMS} more problems`).pipe(
        Effect.annotateLogs({ file: error.file }),
      )
    }
  })

/**
 * Watches `file` and applies each valid edit, for as long as the enclosing scope lives.
 * `applied` is the text imported at start: a tick that finds the same text does nothing.
 */
export const reloadOnChange = (file: string, applied: string) =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    /** The text last applied or refused: the same text again is no edit. */
    const seen = yield* Ref.make(applied)

    const reload = Effect.gen(function* () {
      const read = yield* Effect.either(readGatewayFileText(file))
      if (Either.isLeft(read)) return yield* logRefused(read.left)
      const text = read.right
      if (text === (yield* Ref.get(seen))) return
      const parsed = yield* Effect.either(parseGatewayFile(text, { file }))
      if (Either.isLeft(parsed)) {
        yield* Ref.set(seen, text)
        return yield* logRefused(parsed.left)
      }
      const outcome = yield* Effect.either(
        applyGatewayFile(parsed.right, file).pipe(
          Effect.retry({ schedule: APPLY_RETRY, while: (error) => error._tag !== "GatewayFileError" }),
        ),
      )
      if (Either.isLeft(outcome)) {
        if (outcome.left._tag === "GatewayFileError") {
          yield* Ref.set(seen, text)
          return yield* logRefused(outcome.left)
        }
        return yield* Effect.logError(
          "providers file not applied: the database refused the write; the running configuration stays (the next edit tries again)",
        ).pipe(Effect.annotateLogs({ file, reason: outcome.left.message }))
      }
      yield* Ref.set(seen, text)
      // Changed: every instance reloads. Nothing to write (another instance of a shared database
      // applied the same edit first): this one reloads too, in case it missed that one's message.
      if (outcome.right.changed) yield* registry.afterChange
      else
        yield* registry.reload.pipe(
          Effect.catchAll((error) =>
            Effect.logWarning("registry reload after a providers file edit failed").pipe(
              Effect.annotateLogs({ reason: error.message }),
            ),
          ),
        )
      yield* Effect.logInfo(`providers file reloaded: ${describeChanges(outcome.right)}`).pipe(
        Effect.annotateLogs({ file }),
      )
    }).pipe(Effect.withSpan("GatewayFileReload.reload"))

    yield* gatewayFileChanges(file).pipe(
      Stream.runForEach(() => reload),
      Effect.tapError((error) =>
        Effect.logWarning(`${error.message}; watching it again shortly`).pipe(Effect.annotateLogs({ file })),
      ),
      Effect.retry(REWATCH),
    )
  })

/**
 * Start-up: when GATEWAY_CONFIG is set, import it (start-up fails with every problem of the file)
 * before the server listens; then, unless GATEWAY_CONFIG_WATCH=false, watch it for the life of
 * the application (the watch is closed at shutdown with the layer's scope).
 */
export const layer: Layer.Layer<
  never,
  GatewayFileError | SqlError.SqlError | RegistryLoadError | KvError,
  AppConfig | ProviderRepository | ProviderRegistry
> = Layer.scopedDiscard(
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (Option.isNone(config.gatewayConfig)) return
    const file = config.gatewayConfig.value
    const { text } = yield* importAtStart(file)
    if (config.gatewayConfigWatch) yield* Effect.forkScoped(reloadOnChange(file, text))
  }),
)
