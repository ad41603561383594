import { Cause, HashMap, List, Logger, LogLevel } from "effect"

/** Header names whose values never reach a log line. */
export const SECRET_HEADERS = new Set(["authorization", "x-api-key", "x-goog-api-key", "cookie", "proxy-authorization", "x-auth-token"])

/** Header map safe to log: credentials replaced by `[redacted]`. */
export const redactHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? "[redacted]" : value
  return out
}

/** Cheap pre-check: text none of the patterns below can match is returned as it is. */
const MAYBE_SECRET = /bearer|apx|sk|AIza|key=/i

/** Redacts anything that looks like a bearer token or an API key inside free text. */
export const redactText = (text: string): string =>
  !MAYBE_SECRET.test(text)
    ? text
    : text
        .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, "$1[redacted]")
        .replace(/\b(apx|sk|sk-ant|AIza)[-_A-Za-z0-9]{12,}/g, "[redacted]")
        .replace(/([?&]key=)[^&\s]+/g, "$1[redacted]")

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

/**
 * Standard error, written once per event-loop turn: a busy gateway logs a line per request, and
 * one write per line costs a system call each. Whatever is pending is flushed before exit.
 */
const batchedStderr = (): ((line: string) => void) => {
  let pending: Array<string> = []
  const flush = () => {
    if (pending.length === 0) return
    const text = pending.join("\n") + "\n"
    pending = []
    process.stderr.write(text)
  }
  process.once("exit", flush)
  return (line) => {
    if (pending.push(line) === 1) setImmediate(flush)
  }
}

/**
 * One logfmt line per entry on stderr, timestamps in LOG_TIMEZONE, every message and annotation
 * passed through `redactText` so no credential reaches a log.
 */
export const makeLogger = (timeZone: string | undefined, sink: (line: string) => void = batchedStderr()) => {
  const format = timeZone ? new Intl.DateTimeFormat("sv-SE", { timeZone, dateStyle: "short", timeStyle: "medium", hourCycle: "h23" }) : undefined
  const millis = (date: Date) => String(date.getMilliseconds()).padStart(3, "0")
  return Logger.make(({ annotations, cause, date, logLevel, message }) => {
    const time = format ? `${format.format(date).replace(" ", "T")}.${millis(date)}` : date.toISOString()
    const text = List.isList(message) ? "" : Array.isArray(message) ? message.map(String).join(" ") : String(message)
    let line = `time=${time} level=${logLevel.label} msg=${quote(redactText(text))}`
    for (const [key, value] of HashMap.toEntries(annotations)) line += ` ${key}=${quote(redactText(String(value)))}`
    if (!Cause.isEmpty(cause)) line += ` cause=${quote(redactText(Cause.pretty(cause).split("\n")[0] ?? ""))}`
    sink(line)
  })
}
