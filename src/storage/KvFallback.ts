import { Clock, type ConfigError, Duration, Effect, Layer, Metric, Redacted, Stream } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { Kv, KvError, type KvStore } from "./Kv.js"
import * as KvMemory from "./KvMemory.js"

/**
 * A circuit around the shared store (Redis): while it cannot be reached, the gateway keeps
 * serving with per-instance state (an in-memory store) instead of waiting on it.
 *
 * - Up: every operation goes to the primary. One that fails because the primary could not be
 *   reached (`KvError.unavailable`) is answered by the local store instead. A lost connection
 *   marks the primary down at once. A timed-out command makes it suspect: the probe pings it, and
 *   an answer clears the suspicion; timeouts still coming SUSPECT_MS after the first, with no answer
 *   in between, mark it down (commands stalled together behind one event-loop or GC pause, or
 *   one slow answer, are not an outage).
 * - Down: every operation goes to the local store, without trying the primary; a probe pings the
 *   primary every PROBE_INTERVAL, and the first answer marks it up again. The local entries are
 *   then dropped: what was counted per instance during the outage is not merged back.
 * - Each transition writes one log line and counts in the `kv_primary_outages` metric.
 *
 * Keys under `strictPrefixes` are never answered locally (a revocation list read from an empty
 * local store would let revoked tokens in): while the primary is down their operations fail at
 * once with `KvError`. `ping` always asks the primary, so readiness reports the store's real state.
 * Pub/sub: subscribers hear both the primary and the local store; a message published while the
 * primary is down reaches this instance's subscribers only.
 */

export interface FallbackOptions {
  /** Names the primary in log lines, e.g. `Redis at 127.0.0.1:6379` (no credentials). */
  readonly name: string
  readonly strictPrefixes?: ReadonlyArray<string>
  readonly probeInterval?: Duration.DurationInput
}

/** The local store used while the primary is down, and a way to empty it when it is back. */
export interface LocalStore {
  readonly store: KvStore
  readonly clear: () => void
}

const PROBE_INTERVAL = Duration.millis(500)
const SUSPECT_MS = 1_000

/** Key prefixes of the Redis store that must never be answered from per-instance memory. */
export const STRICT_PREFIXES: ReadonlyArray<string> = ["auth:jwt:"]

/** Outages of the shared store seen by this instance (one per transition to per-instance state). */
export const primaryOutages = Metric.counter("kv_primary_outages", {
  description: "times the shared KV store (Redis) became unreachable and state went per-instance",
  incremental: true,
})

/** 1 while the shared KV store is unreachable and state is per-instance, 0 otherwise. */
export const primaryDown = Metric.gauge("kv_primary_down", {
  description: "1 while the shared KV store (Redis) is unreachable and state is per-instance",
})

export const make = (primary: KvStore, local: LocalStore, options: FallbackOptions) =>
  Effect.gen(function* () {
    const strict = options.strictPrefixes ?? []
    const name = options.name
    let down = false
    let downSince = 0
    let servedLocally = 0
    /** When the first timeout since the primary last answered a probe happened; 0: not suspect. */
    let suspectSince = 0

    const isStrict = (key: string): boolean => {
      for (const prefix of strict) if (key.startsWith(prefix)) return true
      return false
    }

    /** Records an unreachable-primary failure; logs the transition when it makes the primary down. */
    const failed = (error: KvError): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => markDown(error, now))

    const markDown = (error: KvError, now: number): Effect.Effect<void> => {
      if (down) return Effect.void
      if (error.unavailable === "timeout") {
        if (suspectSince === 0) suspectSince = now
        if (now - suspectSince < SUSPECT_MS) return Effect.void
      }
      down = true
      downSince = now
      servedLocally = 0
      suspectSince = 0
      return Effect.logWarning(
        `KV store degraded: ${name} is unreachable; circuit state, metrics, rate limits and session bindings are per instance until it is back`,
      ).pipe(
        Effect.annotateLogs({ operation: error.operation, reason: error.message }),
        Effect.zipRight(Metric.increment(primaryOutages)),
        Effect.zipRight(Metric.set(primaryDown, 1)),
      )
    }

    const recovered = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (!down) return Effect.void
      down = false
      local.clear()
      const seconds = ((now - downSince) / 1000).toFixed(1)
      return Effect.logWarning(
        `KV store recovered: ${name} answers again after ${seconds} s; state is shared again (${servedLocally} operations were served per instance)`,
      ).pipe(Effect.zipRight(Metric.set(primaryDown, 0)))
    })

    /** The primary's answer, or the local store's when the primary cannot be reached. */
    const guarded = <A>(
      key: string,
      onPrimary: () => Effect.Effect<A, KvError>,
      onLocal: () => Effect.Effect<A, KvError>,
    ): Effect.Effect<A, KvError> => {
      if (isStrict(key)) return strict_(key, onPrimary)
      if (down) {
        servedLocally += 1
        return onLocal()
      }
      return Effect.catchAll(onPrimary(), (error) => {
        if (error.unavailable === undefined) return Effect.fail(error)
        return Effect.zipRight(
          failed(error),
          Effect.suspend(() => {
            servedLocally += 1
            return onLocal()
          }),
        )
      })
    }

    /** A strict key: the primary's answer or a failure, at once while the primary is down. */
    const strict_ = <A>(key: string, onPrimary: () => Effect.Effect<A, KvError>): Effect.Effect<A, KvError> =>
      down
        ? Effect.fail(
            new KvError({
              operation: "strict",
              message: `${name} is unreachable (key ${key.slice(0, 40)})`,
              unavailable: "disconnected",
            }),
          )
        : Effect.tapError(onPrimary(), (error) => (error.unavailable === undefined ? Effect.void : failed(error)))

    const firstStrict = (keys: ReadonlyArray<string>): string | undefined => {
      for (const key of keys) if (isStrict(key)) return key
      return undefined
    }

    const cleared = Effect.sync(() => {
      suspectSince = 0
    })
    const probe = Effect.suspend(() => {
      if (down) return Effect.zipRight(primary.ping, recovered)
      return suspectSince === 0 ? Effect.void : Effect.zipRight(primary.ping, cleared)
    }).pipe(Effect.ignore)
    yield* Effect.sleep(options.probeInterval ?? PROBE_INTERVAL).pipe(
      Effect.zipRight(probe),
      Effect.forever,
      Effect.forkScoped,
    )

    const localStore = local.store
    const store: KvStore = {
      get: (key) =>
        guarded(
          key,
          () => primary.get(key),
          () => localStore.get(key),
        ),
      getMany: (keys) =>
        guarded(
          firstStrict(keys) ?? "",
          () => primary.getMany(keys),
          () => localStore.getMany(keys),
        ),
      set: (key, value, ttl) =>
        guarded(
          key,
          () => primary.set(key, value, ttl),
          () => localStore.set(key, value, ttl),
        ),
      setIfAbsent: (key, value, ttl) =>
        guarded(
          key,
          () => primary.setIfAbsent(key, value, ttl),
          () => localStore.setIfAbsent(key, value, ttl),
        ),
      del: (key) =>
        guarded(
          key,
          () => primary.del(key),
          () => localStore.del(key),
        ),
      incr: (key, by, ttl) =>
        guarded(
          key,
          () => primary.incr(key, by, ttl),
          () => localStore.incr(key, by, ttl),
        ),
      incrIfPresent: (key, by) =>
        guarded(
          key,
          () => primary.incrIfPresent(key, by),
          () => localStore.incrIfPresent(key, by),
        ),
      ttl: (key) =>
        guarded(
          key,
          () => primary.ttl(key),
          () => localStore.ttl(key),
        ),
      pushCapped: (key, value, maxLength, ttl) =>
        guarded(
          key,
          () => primary.pushCapped(key, value, maxLength, ttl),
          () => localStore.pushCapped(key, value, maxLength, ttl),
        ),
      listRange: (key, start, stop) =>
        guarded(
          key,
          () => primary.listRange(key, start, stop),
          () => localStore.listRange(key, start, stop),
        ),
      publish: (channel, message) =>
        guarded(
          channel,
          () => primary.publish(channel, message),
          () => localStore.publish(channel, message),
        ),
      subscribeScoped: (channel) =>
        Effect.gen(function* () {
          const fromLocal = yield* localStore.subscribeScoped(channel)
          const fromPrimary = yield* primary
            .subscribeScoped(channel)
            .pipe(
              Effect.catchAll((error) =>
                error.unavailable === undefined
                  ? Effect.fail(error)
                  : Effect.as(failed(error), Stream.empty as Stream.Stream<string>),
              ),
            )
          return Stream.merge(fromPrimary, fromLocal)
        }),
      subscribe: (channel) => Stream.unwrapScoped(store.subscribeScoped(channel)),
      ping: primary.ping,
    }
    return store
  })

/**
 * The production store when `REDIS_URL` is set: Redis (commands bounded by `KV_TIMEOUT`, no
 * offline queue) behind the fallback circuit, with an in-memory store for outages. The Redis
 * client (ioredis) is loaded only here: a gateway without REDIS_URL never loads it.
 */
export const layerRedis: Layer.Layer<Kv, KvError | ConfigError.ConfigError, AppConfig> = Layer.scoped(
  Kv,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const KvRedis = yield* Effect.promise(() => import("./KvRedis.js"))
    const url = yield* KvRedis.redisUrlOf(config)
    const commandTimeout = yield* KvRedis.kvTimeout
    const primary = yield* KvRedis.make({ url, prefix: config.kvPrefix, commandTimeout })
    const local = yield* KvMemory.makeClearable
    return yield* make(primary, local, {
      name: `Redis at ${KvRedis.describeRedisUrl(Redacted.value(url))}`,
      strictPrefixes: STRICT_PREFIXES,
    })
  }),
)
