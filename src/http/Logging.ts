import { Cause, Context, HashMap, List, Logger, LogLevel } from "effect"
import { redactText } from "../shared/Redaction.js"

export const parseLogLevel = (name: string): LogLevel.LogLevel => {
  switch (name) {
    case "TRACE":
      return LogLevel.Trace
    case "DEBUG":
      return LogLevel.Debug
    case "WARNING":
    case "WARN":
      return LogLevel.Warning
    case "ERROR":
      return LogLevel.Error
    case "FATAL":
      return LogLevel.Fatal
    case "NONE":
      return LogLevel.None
    default:
      return LogLevel.Info
  }
}

const quote = (value: string): string => (/[\s="]/.test(value) ? JSON.stringify(value) : value)

/** Log lines dropped because standard error was gone (e.g. `apiproxy 2>&1 | head` after `head` exited). */
let droppedLines = 0
let stderrGone = false
export const droppedLogLines = (): number => droppedLines

/**
 * A standard stream whose reader went away (EPIPE) emits 'error' on its next write; unhandled, that
 * would take the gateway down. Marks it gone instead: log lines are dropped (and counted) from then
 * on, and other writers (the first admin's credentials on stdout) fail quietly. Installed once.
 */
let guarded = false
export const guardStandardStreams = (): void => {
  if (guarded) return
  guarded = true
  process.stderr.on("error", () => {
    stderrGone = true
  })
  process.stdout.on("error", () => {})
}

/**
 * Standard error, written once per event-loop turn: a busy gateway logs a line per request, and
 * one write per line costs a system call each. Whatever is pending is flushed before exit. A
 * standard error that failed is never written again: its lines are counted and dropped.
 */
const batchedStderr = (): ((line: string) => void) => {
  guardStandardStreams()
  let pending: Array<string> = []
  const flush = () => {
    if (pending.length === 0) return
    if (stderrGone || process.stderr.destroyed) {
      droppedLines += pending.length
      pending = []
      return
    }
    const count = pending.length
    const text = pending.join("\n") + "\n"
    pending = []
    try {
      process.stderr.write(text, (error) => {
        if (error) {
          stderrGone = true
          droppedLines += count
        }
      })
    } catch {
      stderrGone = true
      droppedLines += count
    }
  }
  process.once("exit", flush)
  return (line) => {
    if (pending.push(line) === 1) setImmediate(flush)
  }
}

/** Writes log lines outside an Effect (the generation edge's access log), same format and sink. */
export interface LogLines {
  /** Writes one INFO line, unless LOG_LEVEL is above INFO. */
  readonly info: (message: string, annotations: Readonly<Record<string, string | number>>) => void
}

export class LogLinesTag extends Context.Tag("gateway/http/LogLines")<LogLinesTag, LogLines>() {}

/**
 * One logfmt line per entry, timestamps in LOG_TIMEZONE, every message and annotation passed
 * through `redactText` so no credential reaches a log.
 */
const makeFormatter = (timeZone: string | undefined) => {
  const format = timeZone
    ? new Intl.DateTimeFormat("sv-SE", { timeZone, dateStyle: "short", timeStyle: "medium", hourCycle: "h23" })
    : undefined
  const millis = (date: Date) => String(date.getMilliseconds()).padStart(3, "0")
  // A busy gateway writes many lines per millisecond: the timestamp text is made once per millisecond.
  let lastMs = Number.NaN
  let lastTime = ""
  const timeOf = (date: Date): string => {
    const ms = date.getTime()
    if (ms !== lastMs) {
      lastMs = ms
      lastTime = format ? `${format.format(date).replace(" ", "T")}.${millis(date)}` : date.toISOString()
    }
    return lastTime
  }
  return (
    date: Date,
    level: string,
    message: string,
    annotations: Iterable<readonly [string, unknown]>,
    cause?: string,
  ): string => {
    const time = timeOf(date)
    let line = `time=${time} level=${level} msg=${quote(redactText(message))}`
    for (const [key, value] of annotations) line += ` ${key}=${quote(redactText(String(value)))}`
    if (cause !== undefined) line += ` cause=${quote(redactText(cause))}`
    return line
  }
}

/** The Effect logger and the plain line writer, on one sink (standard error unless given). */
export const makeLogging = (
  timeZone: string | undefined,
  minimum: LogLevel.LogLevel,
  sink: (line: string) => void = batchedStderr(),
) => {
  const format = makeFormatter(timeZone)
  const logger = Logger.make(({ annotations, cause, date, logLevel, message }) => {
    const text = List.isList(message) ? "" : Array.isArray(message) ? message.map(String).join(" ") : String(message)
    sink(
      format(
        date,
        logLevel.label,
        text,
        HashMap.toEntries(annotations),
        Cause.isEmpty(cause) ? undefined : (Cause.pretty(cause).split("\n")[0] ?? ""),
      ),
    )
  })
  const infoEnabled = LogLevel.greaterThanEqual(LogLevel.Info, minimum)
  const lines: LogLines = {
    info: (message, annotations) => {
      if (infoEnabled) sink(format(new Date(), "INFO", message, Object.entries(annotations)))
    },
  }
  return { logger, lines }
}
