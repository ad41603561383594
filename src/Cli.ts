import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, ConfigError, Duration, Effect, Layer, Option } from "effect"
import { makeAppLayer } from "./App.js"
import { checkConfig } from "./cli/CheckConfig.js"
import { ResetAdminPasswordLive, ResetRefused, resetAdminPassword } from "./cli/ResetAdminPassword.js"
import { SHUTDOWN_DRAIN_DEFAULT, SHUTDOWN_GRACE_DEFAULT } from "./config/AppConfig.js"
import { EnvFileError, type EnvFileOutcome } from "./config/EnvFile.js"
import { guardStandardStreams } from "./http/Logging.js"
import { durationConfig } from "./shared/DurationConfig.js"
import * as EmbeddedStart from "./storage/EmbeddedStart.js"

/**
 * `apiproxy` and its commands, loaded by `main.ts` once the `.env` file is read (and the embedded
 * database's process started, when serving on it).
 */

// A reader of stdout/stderr that went away (`apiproxy 2>&1 | head`) must never stop the gateway.
guardStandardStreams()

/**
 * SIGTERM/SIGINT interrupt the program and its layers close (the server drains for
 * SHUTDOWN_DRAIN, then ends what is still in flight when SHUTDOWN_GRACE is over). Whatever a later
 * finalizer waits for (a store that does not answer), the process is gone SHUTDOWN_DRAIN +
 * SHUTDOWN_GRACE + 1 s after the signal.
 */
const settingMs = (name: string, fallback: string) => {
  const fallbackMs = Duration.toMillis(Duration.decode(fallback as Duration.DurationInput))
  return Effect.runSync(
    durationConfig(name).pipe(
      Effect.map(Duration.toMillis),
      Effect.orElseSucceed(() => fallbackMs),
    ),
  )
}
const shutdownMs =
  settingMs("SHUTDOWN_DRAIN", SHUTDOWN_DRAIN_DEFAULT) + settingMs("SHUTDOWN_GRACE", SHUTDOWN_GRACE_DEFAULT)
const exitAfterGrace = () => {
  setTimeout(() => {
    process.stderr.write("apiproxy: shutdown did not finish within SHUTDOWN_DRAIN + SHUTDOWN_GRACE + 1 s; exiting\n")
    process.exit(1)
  }, shutdownMs + 1_000).unref()
}
process.once("SIGTERM", exitAfterGrace)
process.once("SIGINT", exitAfterGrace)

/** One clear line for a start-up failure: which setting, what was expected. No stack trace. */
const describeStartupFailure = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) return Cause.pretty(cause).split("\n")[0] ?? "unknown failure"
  const error = failure.value
  if (ConfigError.isConfigError(error)) {
    return `invalid configuration: ${String(error)
      .replace(/^\(|\)$/g, "")
      .replace(/\s+/g, " ")}`
  }
  const message = (error as { message?: unknown })?.message
  return typeof message === "string" && message !== "" ? message : String(error)
}

const COMMANDS = "commands: demo, check-config <file>, reset-admin-password [username]"

/**
 * `apiproxy` serves; `apiproxy check-config <file>` validates a providers file without starting;
 * `apiproxy reset-admin-password [username]` recovers a superuser's access; `apiproxy demo` serves
 * beside the bundled mock provider, with no keys (src/Demo.ts).
 */
const command = process.argv[2]
const commandOf = (envFile: EnvFileOutcome): Effect.Effect<void, unknown> =>
  command === undefined
    ? Layer.launch(makeAppLayer({ envFile }))
    : command === "demo"
      ? // Loaded only for the demo: a production start never reads the mock provider's modules.
        Effect.flatMap(
          Effect.promise(() => import("./Demo.js")),
          (demo) => demo.runDemo,
        )
      : command === "reset-admin-password"
        ? resetAdminPassword(process.argv[3] ?? "admin").pipe(Effect.provide(ResetAdminPasswordLive))
        : command === "check-config" && process.argv[3] !== undefined
          ? checkConfig(process.argv[3])
          : Effect.fail(
              new ResetRefused({
                message: `unknown command or missing argument '${command.slice(0, 64)}' (${COMMANDS})`,
              }),
            )
/** Runs the command; `envFile` is what `main.ts` read from `.env` (or ENV_FILE) before any setting, or why it could not. */
export const runCli = (envFile: EnvFileOutcome | EnvFileError): void =>
  (envFile instanceof EnvFileError ? Effect.fail(envFile) : commandOf(envFile)).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.void
        : Effect.sync(() => {
            process.stderr.write(
              `apiproxy: ${command === undefined ? "cannot start" : command.slice(0, 64)}: ${describeStartupFailure(cause)}\n`,
            )
            process.exitCode = 1
          }),
    ),
    // An embedded database started ahead (`main.ts`) that the command never took is closed first.
    Effect.ensuring(Effect.promise(EmbeddedStart.abandon)),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true }),
  )
