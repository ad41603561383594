#!/usr/bin/env node
import "./HeapTuning.js"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, ConfigError, Effect, Layer, Option } from "effect"
import { AppLive } from "./App.js"
import { guardStandardStreams } from "./http/Logging.js"

// A reader of stdout/stderr that went away (`apiproxy 2>&1 | head`) must never stop the gateway.
guardStandardStreams()

/** One clear line for a start-up failure: which setting, what was expected. No stack trace. */
const describeStartupFailure = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) return Cause.pretty(cause).split("\n")[0] ?? "unknown failure"
  const error = failure.value
  if (ConfigError.isConfigError(error)) {
    return `invalid configuration: ${String(error).replace(/^\(|\)$/g, "").replace(/\s+/g, " ")}`
  }
  const message = (error as { message?: unknown })?.message
  return typeof message === "string" && message !== "" ? message : String(error)
}

Layer.launch(AppLive).pipe(
  Effect.catchAllCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.void
      : Effect.sync(() => {
          process.stderr.write(`apiproxy: cannot start: ${describeStartupFailure(cause)}\n`)
          process.exitCode = 1
        }),
  ),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true }),
)
