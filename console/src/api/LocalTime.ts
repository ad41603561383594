/**
 * Times in the console: the API speaks UTC (ISO 8601 with `Z`); the page shows and asks for the
 * browser's local time (a `datetime-local` field, `YYYY-MM-DDTHH:MM` without a zone). These convert
 * between the two. `offsetAt` is the zone: minutes to add to a local time to reach UTC at an
 * instant (`Date#getTimezoneOffset`, so −120 in Paris in summer); tests pass their own.
 */
export type OffsetAt = (epochMs: number) => number

export const browserOffset: OffsetAt = (epochMs) => new Date(epochMs).getTimezoneOffset()

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/

/**
 * The instant a `datetime-local` value names in the zone, as a UTC ISO string; `undefined` for a
 * value that is not one. A wall time a clock change skips (02:30 on the spring-forward night) reads
 * as the offset before the change, as browsers do.
 */
export const isoOfLocalInput = (value: string, offsetAt: OffsetAt = browserOffset): string | undefined => {
  const parts = LOCAL_INPUT.exec(value.trim())
  if (parts === null) return undefined
  const part = (index: number): number => Number(parts[index] ?? 0)
  const [year, month, day, hour, minute, second] = [part(1), part(2), part(3), part(4), part(5), part(6)]
  const wall = Date.UTC(year, month - 1, day, hour, minute, second)
  const check = new Date(wall)
  // Date.UTC rolls 2030-02-31 over to March: a date that does not exist is no date.
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59)
    return undefined
  const guess = wall + offsetAt(wall) * 60_000
  return new Date(wall + offsetAt(guess) * 60_000).toISOString()
}

/** A UTC ISO time as a `datetime-local` value (to the minute) in the zone. */
export const localInputOfIso = (iso: string, offsetAt: OffsetAt = browserOffset): string => {
  const epochMs = Date.parse(iso)
  return new Date(epochMs - offsetAt(epochMs) * 60_000).toISOString().slice(0, 16)
}

/** A time for a table: the browser's local date and time (the exact UTC time is the cell's title). */
export const localText = (iso: string): string =>
  new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })
