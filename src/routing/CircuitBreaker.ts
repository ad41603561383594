/**
 * Circuit breaking per scope, shared across gateway instances through Kv. Router uses two scopes:
 * the upstream (`u:provider/model`) for answers about a model (429, 5xx, timeouts, broken
 * streams), and the provider (`p:provider`) only for failures of the connection itself (refused,
 * reset before any byte, DNS/TLS). Each request counts at most once per scope (its own retries
 * are one failure), so a circuit opens only after failures of several distinct requests.
 *
 * closed ──N penalisable failures within the window──▶ open ──cooldown elapsed──▶ half-open
 *   ▲                                                   ▲                            │
 *   └──────────── any success ──────────────────────────┼──── probe succeeds ◀───────┤
 *                                                       └──── probe fails (cooldown doubles, capped)
 *
 * Defaults are short (5 s, doubling per failed probe up to 20 s): a primary that recovered
 * carries traffic again within about 20 s, whatever happened before.
 *
 * In half-open exactly one request (across all instances: Kv SET NX) is let through as a probe.
 * Client-caused errors never reach the breaker (see RetryPolicy.isPenalisable).
 * Kv trouble fails open: routing keeps working without the breaker, with a warning.
 */
import { Clock, Config, Duration, Effect, Option, Schema } from "effect"
import { durationConfig } from "../shared/DurationConfig.js"
import { Kv, type KvError } from "../storage/Kv.js"
import { kvRecord } from "../storage/KvRecord.js"
import type { CircuitView } from "./Plan.js"

export interface BreakerConfig {
  /** Penalisable failures within `windowMs` that open the circuit. */
  readonly failureThreshold: number
  readonly windowMs: number
  /**
   * First open period; doubles after each failed probe, up to `maxCooldownMs` (which bounds how
   * long a recovered upstream can wait for its next probe).
   */
  readonly cooldownMs: number
  readonly maxCooldownMs: number
  /** How long a taken probe blocks other probes (the probe request's own time budget). */
  readonly probeTimeoutMs: number
}

export const defaultBreakerConfig: BreakerConfig = {
  failureThreshold: 3,
  windowMs: 60_000,
  cooldownMs: 5_000,
  maxCooldownMs: 20_000,
  probeTimeoutMs: 30_000,
}

// ---------------------------------------------------------------------------------------------
// Pure state machine (the Kv service below stores the same states).

export type BreakerState =
  | { readonly _tag: "Closed"; readonly failures: ReadonlyArray<number> }
  | { readonly _tag: "Open"; readonly openedAt: number; readonly until: number; readonly trips: number }

export type BreakerEvent = { readonly _tag: "Success" } | { readonly _tag: "Failure" }

export const initialBreaker: BreakerState = { _tag: "Closed", failures: [] }

export const cooldownFor = (trips: number, config: BreakerConfig): number =>
  Math.min(config.maxCooldownMs, config.cooldownMs * 2 ** Math.max(0, trips - 1))

/** Closed, open (cooldown running) or half-open (cooldown over: one probe may go). */
export const breakerStatus = (state: BreakerState, now: number): CircuitView =>
  state._tag === "Closed"
    ? { status: "closed" }
    : now < state.until
      ? { status: "open", retryAfterMs: state.until - now }
      : { status: "half_open" }

export const transition = (
  state: BreakerState,
  event: BreakerEvent,
  now: number,
  config: BreakerConfig = defaultBreakerConfig,
): BreakerState => {
  if (event._tag === "Success") return initialBreaker
  if (state._tag === "Open") {
    // A late failure of a request sent before the circuit opened changes nothing;
    // a failure once the cooldown is over is the probe failing: reopen for longer.
    if (now < state.until) return state
    const trips = state.trips + 1
    return { _tag: "Open", openedAt: now, until: now + cooldownFor(trips, config), trips }
  }
  const failures = [...state.failures.filter((t) => now - t < config.windowMs), now]
  if (failures.length >= config.failureThreshold) {
    return { _tag: "Open", openedAt: now, until: now + cooldownFor(1, config), trips: 1 }
  }
  return { _tag: "Closed", failures }
}

// ---------------------------------------------------------------------------------------------
// Shared service.

const OpenRecord = kvRecord(Schema.Struct({ openedAt: Schema.Number, until: Schema.Number, trips: Schema.Number }), {
  cached: true,
})

/** The provider's connection: refused, reset before any byte, DNS/TLS failures. */
export const providerScope = (providerId: string): string => `p:${providerId}`
/** One upstream (provider + model): everything the provider answered about that model. */
export const upstreamScope = (providerId: string, model: string): string => `u:${providerId}/${model}`
export const keyScope = (providerId: string, keyId: string): string => `k:${providerId}:${keyId}`

const openKey = (scope: string) => `routing:cb:${scope}:open`
const probeKey = (scope: string) => `routing:cb:${scope}:probe`
const bucketKey = (scope: string, bucket: number) => `routing:cb:${scope}:f:${bucket}`

/**
 * The window is split into this many buckets. Only the oldest bucket is weighted (the sliding-
 * window counter estimate), so failures close together are always counted in full: with two
 * window-sized buckets, three failures straddling a bucket boundary counted as 2.99 and did not
 * open the circuit.
 */
export const WINDOW_BUCKETS = 6

const bucketMsOf = (windowMs: number): number => Math.max(1, Math.floor(windowMs / WINDOW_BUCKETS))

/**
 * Failures in the sliding window: `counts[0]` is the current bucket, `counts[i]` the i-th before
 * it; the buckets the window covers in full count fully, the one it covers in part is weighted.
 */
export const slidingCount = (counts: ReadonlyArray<number>, now: number, windowMs: number): number => {
  const bucketMs = bucketMsOf(windowMs)
  let total = 0
  for (let i = 0; i < WINDOW_BUCKETS; i++) total += counts[i] ?? 0
  return total + (counts[WINDOW_BUCKETS] ?? 0) * (1 - (now % bucketMs) / bucketMs)
}

/** The Kv keys of the buckets the window at `now` touches, current first. */
const windowKeys = (scope: string, now: number, windowMs: number): Array<string> => {
  const bucket = Math.floor(now / bucketMsOf(windowMs))
  return Array.from({ length: WINDOW_BUCKETS + 1 }, (_, i) => bucketKey(scope, bucket - i))
}

const toInt = (s: string | undefined): number => {
  const n = s === undefined ? 0 : Number.parseInt(s, 10)
  return Number.isFinite(n) ? n : 0
}

export const breakerConfigFromEnv = Config.all({
  failureThreshold: Config.integer("CIRCUIT_FAILURE_THRESHOLD").pipe(
    Config.withDefault(defaultBreakerConfig.failureThreshold),
  ),
  windowMs: durationConfig("CIRCUIT_FAILURE_WINDOW").pipe(
    Config.map(Duration.toMillis),
    Config.withDefault(defaultBreakerConfig.windowMs),
  ),
  cooldownMs: durationConfig("CIRCUIT_COOLDOWN").pipe(
    Config.map(Duration.toMillis),
    Config.withDefault(defaultBreakerConfig.cooldownMs),
  ),
  maxCooldownMs: durationConfig("CIRCUIT_MAX_COOLDOWN").pipe(
    Config.map(Duration.toMillis),
    Config.withDefault(defaultBreakerConfig.maxCooldownMs),
  ),
  probeTimeoutMs: Config.succeed(defaultBreakerConfig.probeTimeoutMs),
})

const storeUnavailable = (operation: string, e: KvError) =>
  Effect.logWarning("circuit breaker store unavailable").pipe(Effect.annotateLogs({ operation, error: e.message }))

/** Kv trouble must not fail requests: log it and carry on as if the circuit were closed. */
const failOpen = <A, B, R>(
  self: Effect.Effect<A, KvError, R>,
  operation: string,
  fallback: B,
): Effect.Effect<A | B, never, R> => Effect.catchAll(self, (e) => Effect.as(storeUnavailable(operation, e), fallback))

/** A failed read of the circuits' views, logged: every circuit then counts as closed. */
export const viewsUnread = (e: KvError) => storeUnavailable("views", e)

/** The Kv keys `viewsFrom` reads, in the order of `scopes`. */
export const viewKeys = (scopes: ReadonlyArray<string>): Array<string> => {
  // A loop, not flatMap with a pair per scope: this runs on every request.
  const keys: Array<string> = []
  for (const scope of scopes) keys.push(openKey(scope), probeKey(scope))
  return keys
}

export const makeCircuitBreaker = Effect.gen(function* () {
  const kv = yield* Kv
  const config = yield* breakerConfigFromEnv

  const readOpen = (raw: string | undefined) => (raw === undefined ? Option.none() : OpenRecord.decode(raw))

  /**
   * The circuit of each scope at `now`, from what Kv holds at `viewKeys(scopes)`. A half-open
   * circuit whose probe is taken counts as open; a closed one is left out.
   */
  const viewsFrom = (
    scopes: ReadonlyArray<string>,
    raw: ReadonlyArray<string | undefined>,
    now: number,
  ): ReadonlyMap<string, CircuitView> => {
    const result = new Map<string, CircuitView>()
    scopes.forEach((scope, i) => {
      const open = readOpen(raw[2 * i])
      if (Option.isNone(open)) return
      const view = breakerStatus({ _tag: "Open", ...open.value }, now)
      result.set(
        scope,
        view.status === "half_open" && raw[2 * i + 1] !== undefined
          ? { status: "open", retryAfterMs: config.probeTimeoutMs }
          : view,
      )
    })
    return result
  }

  /** The circuit of each scope, as Plan wants it (see `viewsFrom`). */
  const views = Effect.fnUntraced(function* (scopes: ReadonlyArray<string>) {
    if (scopes.length === 0) return new Map() as ReadonlyMap<string, CircuitView>
    const now = yield* Clock.currentTimeMillis
    const raw = yield* kv
      .getMany(viewKeys(scopes))
      .pipe(Effect.catchAll((e) => Effect.as(viewsUnread(e), [] as ReadonlyArray<string | undefined>)))
    return viewsFrom(scopes, raw, now)
  })

  /**
   * May a request be sent through this scope now? Closed: yes. Open: no. Half-open: only the
   * one caller that wins the probe, across all instances.
   */
  const acquire = Effect.fnUntraced(function* (scope: string) {
    const now = yield* Clock.currentTimeMillis
    const open = readOpen(yield* failOpen(kv.get(openKey(scope)), "acquire", undefined))
    if (Option.isNone(open)) return true
    const view = breakerStatus({ _tag: "Open", ...open.value }, now)
    if (view.status === "open") return false
    return yield* failOpen(
      kv.setIfAbsent(probeKey(scope), String(now), Duration.millis(config.probeTimeoutMs)),
      "acquire",
      true,
    )
  })

  /** A penalisable failure. Returns the circuit as it is afterwards. */
  const recordFailure = Effect.fnUntraced(function* (scope: string) {
    const now = yield* Clock.currentTimeMillis
    const buckets = windowKeys(scope, now, config.windowMs)
    const [rawOpen, , ...rawBefore] = yield* failOpen(
      kv.getMany([openKey(scope), ...buckets]),
      "recordFailure",
      [] as ReadonlyArray<string | undefined>,
    )
    const open = readOpen(rawOpen)
    const writeOpen = (state: Extract<BreakerState, { _tag: "Open" }>) =>
      kv.set(
        openKey(scope),
        OpenRecord.encode({ openedAt: state.openedAt, until: state.until, trips: state.trips }),
        // Kept well past the cooldown so a failed probe remembers the trip count.
        Duration.millis(state.until - now + config.maxCooldownMs * 2),
      )
    if (Option.isSome(open)) {
      const before: BreakerState = { _tag: "Open", ...open.value }
      const after = transition(before, { _tag: "Failure" }, now, config)
      if (after !== before && after._tag === "Open") {
        yield* failOpen(writeOpen(after), "recordFailure", undefined)
        yield* failOpen(kv.del(probeKey(scope)), "recordFailure", undefined)
      }
      return breakerStatus(after, now)
    }
    const current = yield* failOpen(kv.incr(buckets[0]!, 1, Duration.millis(config.windowMs * 2)), "recordFailure", 0)
    const count = slidingCount([current, ...buckets.slice(1).map((_, i) => toInt(rawBefore[i]))], now, config.windowMs)
    if (count >= config.failureThreshold) {
      const opened: BreakerState = { _tag: "Open", openedAt: now, until: now + cooldownFor(1, config), trips: 1 }
      yield* failOpen(writeOpen(opened), "recordFailure", undefined)
      yield* Effect.logWarning("circuit opened").pipe(Effect.annotateLogs({ scope, failures: count }))
      return breakerStatus(opened, now)
    }
    return { status: "closed" } as CircuitView
  })

  /** Any success closes the circuit and clears its failure count. */
  const recordSuccess = Effect.fnUntraced(function* (scope: string) {
    const now = yield* Clock.currentTimeMillis
    const keys = [openKey(scope), ...windowKeys(scope, now, config.windowMs)]
    const raw = yield* failOpen(kv.getMany(keys), "recordSuccess", [] as ReadonlyArray<string | undefined>)
    if (raw[0] !== undefined) {
      yield* Effect.logInfo("circuit closed").pipe(Effect.annotateLogs({ scope }))
      yield* failOpen(kv.del(probeKey(scope)), "recordSuccess", undefined)
    }
    for (let i = 0; i < keys.length; i++) {
      if (raw[i] !== undefined) yield* failOpen(kv.del(keys[i]!), "recordSuccess", undefined)
    }
  })

  return { views, viewsFrom, acquire, recordFailure, recordSuccess, config } as const
})

export class CircuitBreaker extends Effect.Service<CircuitBreaker>()("gateway/routing/CircuitBreaker", {
  effect: makeCircuitBreaker,
}) {}
