import { Context, Duration, type Effect, Schema, type Scope, type Stream } from "effect"

export class KvError extends Schema.TaggedError<KvError>()("KvError", {
  operation: Schema.String,
  message: Schema.String,
  /**
   * Set when the store could not be reached (rather than refusing the command): `disconnected`
   * when there is no connection, `timeout` when the command got no answer within its deadline.
   */
  unavailable: Schema.optional(Schema.Literal("disconnected", "timeout")),
}) {}

/**
 * The small key-value surface the gateway needs on its hot path: O(1) commands only.
 * Two backends implement it (Redis, memory); one contract suite tests both.
 * Keys are relative: each backend prefixes them with its configured namespace.
 */
export interface KvStore {
  readonly get: (key: string) => Effect.Effect<string | undefined, KvError>
  readonly getMany: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string | undefined>, KvError>
  readonly set: (key: string, value: string, ttl?: Duration.DurationInput) => Effect.Effect<void, KvError>
  /** SET NX: true when the value was written (the key did not exist). */
  readonly setIfAbsent: (key: string, value: string, ttl?: Duration.DurationInput) => Effect.Effect<boolean, KvError>
  readonly del: (key: string) => Effect.Effect<void, KvError>
  /** Atomic increment; the TTL is applied when the increment creates the key. */
  readonly incr: (key: string, by?: number, ttl?: Duration.DurationInput) => Effect.Effect<number, KvError>
  /**
   * Atomic increment of a key that exists (its TTL unchanged); `undefined`, and nothing written,
   * when it does not: a counter that must first be seeded from elsewhere is never started at 0.
   */
  readonly incrIfPresent: (key: string, by: number) => Effect.Effect<number | undefined, KvError>
  /** Remaining time to live in milliseconds, undefined when the key is absent or has no TTL. */
  readonly ttl: (key: string) => Effect.Effect<number | undefined, KvError>
  /** LPUSH then LTRIM to `maxLength` newest entries, refreshing the TTL when given. */
  readonly pushCapped: (
    key: string,
    value: string,
    maxLength: number,
    ttl?: Duration.DurationInput,
  ) => Effect.Effect<void, KvError>
  /** Newest first. */
  readonly listRange: (key: string, start: number, stop: number) => Effect.Effect<ReadonlyArray<string>, KvError>
  readonly publish: (channel: string, message: string) => Effect.Effect<void, KvError>
  /** Messages published on `channel` by any instance (this one included), while the stream runs. */
  readonly subscribe: (channel: string) => Stream.Stream<string, KvError>
  /**
   * Like `subscribe`, but the subscription is active when this effect succeeds, so nothing
   * published afterwards is missed (subscribe first, then load state). Ends with the scope.
   */
  readonly subscribeScoped: (channel: string) => Effect.Effect<Stream.Stream<string>, KvError, Scope.Scope>
  /** A cheap round trip, for readiness probes. */
  readonly ping: Effect.Effect<void, KvError>
}

export class Kv extends Context.Tag("gateway/storage/Kv")<Kv, KvStore>() {}

/**
 * A TTL in whole milliseconds (at least 1), or undefined for "no TTL" (absent or infinite).
 * Both backends use it so they round the same way.
 */
export const ttlMillis = (ttl: Duration.DurationInput | undefined): number | undefined => {
  if (ttl === undefined) return undefined
  const duration = Duration.decode(ttl)
  if (!Duration.isFinite(duration)) return undefined
  return Math.max(1, Math.ceil(Duration.toMillis(duration)))
}
