/**
 * The usage page's time ranges: the last 24 hours by UTC hour, or the last 7 or 30 days by UTC
 * day. A window covers whole buckets, the current (unfinished) one last, so every bucket the API
 * can answer is one of `buckets`.
 */

export const RANGES = ["24h", "7d", "30d"] as const
export type Range = (typeof RANGES)[number]

export const RANGE_LABELS: Record<Range, string> = {
  "24h": "Last 24 hours, by hour",
  "7d": "Last 7 days, by day",
  "30d": "Last 30 days, by day",
}

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
const SPANS: Record<Range, { readonly size: number; readonly count: number }> = {
  "24h": { size: HOUR_MS, count: 24 },
  "7d": { size: DAY_MS, count: 7 },
  "30d": { size: DAY_MS, count: 30 },
}

export interface UsageWindow {
  readonly range: Range
  readonly groupBy: "hour" | "day"
  readonly from: Date
  readonly to: Date
  /** Each bucket's key as `GET /usage` names it (`hour` or `day`), oldest first. */
  readonly buckets: ReadonlyArray<string>
  /** Each bucket's start in Unix seconds (the charts' x values). */
  readonly starts: ReadonlyArray<number>
}

/** A bucket's key: the hour's start as ISO ("2025-01-02T13:00:00.000Z") or the day ("2025-01-02"). */
export const bucketKey = (groupBy: "hour" | "day", startMs: number): string => {
  const iso = new Date(startMs).toISOString()
  return groupBy === "hour" ? iso : iso.slice(0, 10)
}

/** The window of `range` that ends with the bucket holding `now`. */
export const windowOf = (range: Range, now: Date): UsageWindow => {
  const { size, count } = SPANS[range]
  const current = Math.floor(now.getTime() / size) * size
  const firstStart = current - (count - 1) * size
  const groupBy = size === HOUR_MS ? "hour" : "day"
  const startsMs = Array.from({ length: count }, (_, i) => firstStart + i * size)
  return {
    range,
    groupBy,
    from: new Date(firstStart),
    to: new Date(current + size),
    buckets: startsMs.map((ms) => bucketKey(groupBy, ms)),
    starts: startsMs.map((ms) => ms / 1000),
  }
}

/** The `GET /usage` path for `window`. */
export const usagePath = (window: UsageWindow): string =>
  `/usage?${new URLSearchParams({
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    group_by: window.groupBy,
  }).toString()}`

/** A bucket's label for tables: "13:00" with the day for hours ("2025-01-02 13:00"), the day itself for days. */
export const bucketLabel = (groupBy: "hour" | "day", key: string): string =>
  groupBy === "hour" ? `${key.slice(0, 10)} ${key.slice(11, 16)}` : key

/** A time (Unix seconds) as the charts show it, in UTC: "13:00" by hour, "03-12" by day. */
export const timeLabel = (groupBy: "hour" | "day", seconds: number): string => {
  const iso = new Date(seconds * 1000).toISOString()
  return groupBy === "hour" ? iso.slice(11, 16) : iso.slice(5, 10)
}
