import { Config, ConfigError, Duration, Either } from "effect"

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1_000,
  sec: 1_000,
  secs: 1_000,
  second: 1_000,
  seconds: 1_000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
}

const DURATION = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/

/** The longest duration a setting takes: about 24.8 days, the most a Node timer can wait. */
const MAX_MS = 2 ** 31 - 1

export const DURATION_EXPECTED =
  "expected a duration such as 60s, 60 seconds, 1.5m, 2h or 60000 (bare numbers are milliseconds)"

/** `60s`, `60 seconds`, `1.5m`, `2h`, `250ms`, or bare milliseconds (`60000`); else why not. */
export const parseDuration = (text: string): Either.Either<Duration.Duration, string> => {
  const match = DURATION.exec(text.trim().toLowerCase())
  const factor = match === null ? undefined : match[2] === "" ? 1 : UNITS[match[2]!]
  if (match === null || factor === undefined) return Either.left(DURATION_EXPECTED)
  const ms = Number(match[1]) * factor
  if (!Number.isFinite(ms) || ms > MAX_MS) return Either.left(`${DURATION_EXPECTED}; at most ${MAX_MS} ms`)
  return Either.right(Duration.millis(Math.round(ms)))
}

/**
 * A duration setting read from `name`, in any of the forms `parseDuration` takes; a wrong
 * value names the forms instead of Effect's bare "Expected a duration".
 */
export const durationConfig = (name: string): Config.Config<Duration.Duration> =>
  Config.string(name).pipe(
    Config.mapOrFail((text) =>
      Either.mapLeft(parseDuration(text), (message) =>
        ConfigError.InvalidData([name], `${message}, not ${JSON.stringify(text.slice(0, 40))}`),
      ),
    ),
  )
