import type { Callers } from "../api/Callers.js"
import type { LogRow } from "../api/Types.js"

/** How a logged request ended, in a word. */
export type Outcome = "complete" | "rescued" | "cut" | "failed" | "client left"

/**
 * A row's outcome: `rescued` (a stream that broke, finished by another upstream), `complete`
 * (the whole answer), `client left` (499: gone before the answer started), `failed` (an error
 * answer), else `cut` (an answer that started and broke).
 */
export const outcomeOf = (row: Pick<LogRow, "complete" | "rescued" | "status">): Outcome =>
  row.rescued
    ? "rescued"
    : row.complete
      ? "complete"
      : row.status === 499
        ? "client left"
        : row.status >= 400
          ? "failed"
          : "cut"

export const NONE = "—"

/** `245 ms`, `1.23 s`, `12.3 s`; `—` for none. */
export const durationText = (ms: number | null): string => {
  if (ms === null || !Number.isFinite(ms)) return NONE
  if (ms < 1000) return `${Math.round(ms)} ms`
  const seconds = ms / 1000
  return `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)} s`
}

const count = (n: number | null): string => (n === null ? "?" : n.toLocaleString("en-US"))

/** Tokens in and out: `1,234 in · 56 out`; `—` when the answer reported none. */
export const tokensText = (input: number | null, output: number | null): string =>
  input === null && output === null ? NONE : `${count(input)} in · ${count(output)} out`

/** The API's exact decimal USD (`"0.000123"`) as shown: `$0.000123`; `—` when unpriced. */
export const costText = (usd: string | null): string => (usd === null ? NONE : `$${usd}`)

/** The model asked for and the one that served: `fast → gpt-4o-mini`, one name when they are the same. */
export const modelText = (row: Pick<LogRow, "requested_model" | "model">): string => {
  const asked = row.requested_model ?? NONE
  if (row.model === null || row.model === row.requested_model) return asked
  return `${asked} → ${row.model}`
}

/** A time in the browser's locale and zone, to the second. */
export const timeText = (iso: string): string => {
  const date = new Date(iso)
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" })
}

/**
 * The key a request came with: its name (and its user's, when the list holds several users'),
 * `master key` for the gateway's master key, a short id for a key no longer listed (deleted).
 */
export const callerText = (row: Pick<LogRow, "api_key_id" | "user_id">, callers: Callers | undefined): string => {
  if (row.api_key_id === null) return "master key"
  const key = callers?.keys.find((entry) => entry.id === row.api_key_id)
  if (key === undefined) return `key ${row.api_key_id.slice(0, 8)}…`
  if (callers === undefined || callers.users.length <= 1) return key.name
  const user = callers.users.find((entry) => entry.id === key.user_id)
  return user === undefined ? key.name : `${key.name} · ${user.username}`
}

const ATTEMPT_MESSAGES: Record<string, string> = {
  ok: "answered",
  cut: "the stream broke after it started",
  connect: "could not connect",
  reset: "the connection was reset",
  headers_timeout: "no answer in time",
  first_token_timeout: "no first token in time",
  idle_timeout: "the stream stalled",
  malformed: "an answer that was not what was promised",
  truncated: "the answer ended early",
}

/** What an attempt's outcome code means, in words (an unknown code as it is). */
export const attemptMessage = (attempt: { readonly outcome: string; readonly status: number | null }): string =>
  attempt.outcome === "http"
    ? `the upstream answered ${attempt.status ?? "an error"}`
    : (ATTEMPT_MESSAGES[attempt.outcome] ?? attempt.outcome)
