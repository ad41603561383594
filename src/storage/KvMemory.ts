import { Effect, Layer, PubSub, Stream } from "effect"
import { Kv, KvError, type KvStore, ttlMillis } from "./Kv.js"

/**
 * The in-process KV backend: for a single gateway instance without Redis, and for tests.
 * Expiry reads the Effect `Clock`, so `TestClock.adjust` expires keys deterministically.
 */

type Entry =
  | { readonly kind: "string"; value: string; expiresAt: number | undefined }
  | { readonly kind: "list"; items: Array<string>; expiresAt: number | undefined }

/** Expired entries are dropped lazily on access, plus a full sweep every this many writes. */
const SWEEP_EVERY_WRITES = 1_000
/** Per-subscriber buffer; a subscriber this far behind loses the oldest messages. */
const SUBSCRIBER_BUFFER = 4_096

const wrongType = (operation: string, key: string) =>
  new KvError({ operation, message: `WRONGTYPE: key "${key}" holds a value of another kind` })

/** Redis LRANGE index semantics: inclusive, negative counts from the end. */
const lrange = (items: ReadonlyArray<string>, start: number, stop: number): ReadonlyArray<string> => {
  const n = items.length
  let from = start < 0 ? n + start : start
  let to = stop < 0 ? n + stop : stop
  if (from < 0) from = 0
  if (to >= n) to = n - 1
  if (from > to || from >= n) return []
  return items.slice(from, to + 1)
}

/** The in-memory store, and a way to drop every entry (pub/sub subscribers stay). */
export const makeClearable = Effect.gen(function* () {
  const entries = new Map<string, Entry>()
  const pubsub = yield* Effect.acquireRelease(
    PubSub.sliding<{ readonly channel: string; readonly message: string }>(SUBSCRIBER_BUFFER),
    PubSub.shutdown,
  )
  let writes = 0

  const sweep = (now: number) => {
    for (const [key, entry] of entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) entries.delete(key)
    }
  }

  /** The live entry for `key` (dropping it when expired), and the current time. */
  const live = (key: string, now: number): Entry | undefined => {
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
      entries.delete(key)
      return undefined
    }
    return entry
  }

  const write = (now: number) => {
    writes += 1
    if (writes % SWEEP_EVERY_WRITES === 0) sweep(now)
  }

  const expiry = (now: number, ttl: Parameters<typeof ttlMillis>[0]) => {
    const ms = ttlMillis(ttl)
    return ms === undefined ? undefined : now + ms
  }

  const readString = (operation: string, key: string, now: number): string | undefined => {
    const entry = live(key, now)
    if (entry === undefined) return undefined
    if (entry.kind !== "string") throw wrongType(operation, key)
    return entry.value
  }

  const checkIncrement = (operation: string, by: number) => {
    if (!Number.isSafeInteger(by)) throw new KvError({ operation, message: `increment must be an integer, got ${by}` })
  }

  /** Adds `by` to an existing entry's integer value (its expiry unchanged), like INCRBY. */
  const increment = (operation: string, key: string, entry: Entry, by: number): number => {
    if (entry.kind !== "string") throw wrongType(operation, key)
    const current = /^-?\d+$/.test(entry.value) ? Number(entry.value) : Number.NaN
    if (!Number.isSafeInteger(current)) {
      throw new KvError({ operation, message: `value of "${key}" is not an integer` })
    }
    const next = current + by
    entry.value = String(next)
    return next
  }

  /**
   * Runs `f` with the current time (the fiber's Clock, so a TestClock rules here too); a thrown
   * KvError becomes the failure. Two interpreter steps (read the clock, succeed or fail) where
   * `Clock.currentTimeMillis` + `Effect.try` take five: the routing reads of every request come here.
   */
  const withNow = <A>(operation: string, f: (now: number) => A): Effect.Effect<A, KvError> =>
    Effect.clockWith((clock) => {
      try {
        return Effect.succeed(f(clock.unsafeCurrentTimeMillis()))
      } catch (error) {
        return Effect.fail(error instanceof KvError ? error : new KvError({ operation, message: String(error) }))
      }
    })

  const store: KvStore = {
    get: (key) => withNow("get", (now) => readString("get", key, now)),

    getMany: (keys) =>
      withNow("getMany", (now) =>
        keys.map((key) => {
          const entry = live(key, now)
          // Like MGET: a key of another kind reads as absent.
          return entry?.kind === "string" ? entry.value : undefined
        }),
      ),

    set: (key, value, ttl) =>
      withNow("set", (now) => {
        entries.set(key, { kind: "string", value, expiresAt: expiry(now, ttl) })
        write(now)
      }),

    setIfAbsent: (key, value, ttl) =>
      withNow("setIfAbsent", (now) => {
        if (live(key, now) !== undefined) return false
        entries.set(key, { kind: "string", value, expiresAt: expiry(now, ttl) })
        write(now)
        return true
      }),

    del: (key) =>
      withNow("del", () => {
        entries.delete(key)
      }),

    incr: (key, by = 1, ttl) =>
      withNow("incr", (now) => {
        checkIncrement("incr", by)
        const entry = live(key, now)
        if (entry === undefined) {
          entries.set(key, { kind: "string", value: String(by), expiresAt: expiry(now, ttl) })
          write(now)
          return by
        }
        return increment("incr", key, entry, by)
      }),

    incrIfPresent: (key, by) =>
      withNow("incrIfPresent", (now) => {
        checkIncrement("incrIfPresent", by)
        const entry = live(key, now)
        return entry === undefined ? undefined : increment("incrIfPresent", key, entry, by)
      }),

    ttl: (key) =>
      withNow("ttl", (now) => {
        const entry = live(key, now)
        return entry?.expiresAt === undefined ? undefined : entry.expiresAt - now
      }),

    pushCapped: (key, value, maxLength, ttl) =>
      withNow("pushCapped", (now) => {
        if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
          throw new KvError({
            operation: "pushCapped",
            message: `maxLength must be a positive integer, got ${maxLength}`,
          })
        }
        const entry = live(key, now)
        if (entry !== undefined && entry.kind !== "list") throw wrongType("pushCapped", key)
        const list = entry ?? { kind: "list" as const, items: [], expiresAt: undefined }
        list.items.unshift(value)
        if (list.items.length > maxLength) list.items.length = maxLength
        const expiresAt = expiry(now, ttl)
        if (expiresAt !== undefined) list.expiresAt = expiresAt
        entries.set(key, list)
        write(now)
      }),

    listRange: (key, start, stop) =>
      withNow("listRange", (now) => {
        const entry = live(key, now)
        if (entry === undefined) return []
        if (entry.kind !== "list") throw wrongType("listRange", key)
        return lrange(entry.items, start, stop)
      }),

    publish: (channel, message) => Effect.asVoid(PubSub.publish(pubsub, { channel, message })),

    subscribeScoped: (channel) =>
      Effect.map(PubSub.subscribe(pubsub), (dequeue) =>
        Stream.fromQueue(dequeue).pipe(
          Stream.filter((event) => event.channel === channel),
          Stream.map((event) => event.message),
        ),
      ),

    subscribe: (channel) => Stream.unwrapScoped(store.subscribeScoped(channel)),

    ping: Effect.void,
  }
  return { store, clear: () => entries.clear() } as const
})

export const make = Effect.map(makeClearable, (clearable) => clearable.store)

/** A fresh, empty in-memory store per layer build. */
export const layer: Layer.Layer<Kv> = Layer.scoped(Kv, make)
