/**
 * The `GET /logs` cursor: where the next page starts, as an opaque token. It names the last row
 * of a page by its sort key `(started_at, id)` — rows are listed newest first — so the next page
 * is the rows strictly before it: a walk returns each row once, however many are written
 * meanwhile. Pure.
 *
 * The token is base64url of `1|<started_at>|<id>`: `started_at` as Postgres keeps it (UTC, to
 * the microsecond, so the comparison is exact) and the row's uuid. A token is client input: it is
 * decoded strictly (length, alphabet, version, an ISO time that exists, a uuid) and reaches SQL
 * only as parameters.
 */

/** A position in the log: the last row a page returned. */
export interface RequestLogPosition {
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds). */
  readonly startedAt: string
  readonly id: string
}

/** Longer tokens are refused before decoding (a real one is 84 characters). */
export const CURSOR_MAX_LENGTH = 128

const VERSION = "1"
const BASE64URL = /^[A-Za-z0-9_-]+$/
const MICROS_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A time of `MICROS_TIME`'s shape that exists (no 30 February, no hour 24) in years 1 to 9999. */
const isRealTime = (text: string): boolean => {
  const match = MICROS_TIME.exec(text)
  if (match === null) return false
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (year < 1) return false
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second))
  date.setUTCFullYear(year)
  return (
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second
  )
}

export const encodeCursor = (position: RequestLogPosition): string =>
  Buffer.from(`${VERSION}|${position.startedAt}|${position.id}`, "utf8").toString("base64url")

/** The position a token names, or `undefined` when it is not a token this gateway made. */
export const decodeCursor = (token: string): RequestLogPosition | undefined => {
  if (token.length === 0 || token.length > CURSOR_MAX_LENGTH || !BASE64URL.test(token)) return undefined
  const parts = Buffer.from(token, "base64url").toString("latin1").split("|")
  if (parts.length !== 3 || parts[0] !== VERSION) return undefined
  const [, startedAt, id] = parts as [string, string, string]
  return isRealTime(startedAt) && UUID.test(id) ? { startedAt, id } : undefined
}
