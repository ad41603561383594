import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, Logger, Stream, TestClock } from "effect"
import { KvError, type KvStore } from "../../../src/storage/Kv.js"
import * as KvFallback from "../../../src/storage/KvFallback.js"
import * as KvMemory from "../../../src/storage/KvMemory.js"
import { proxiedRedisKv } from "../../support/TestKv.js"

/**
 * The circuit around the shared store: while the primary (Redis) cannot be reached, operations
 * are answered by a local store at once; one log line per transition; the primary is probed and
 * used again as soon as it answers. A scripted primary makes every transition deterministic
 * (TestClock drives the probe); the last test cuts a real Redis behind a TCP proxy.
 */

type Mode = "up" | "disconnected" | "timeout" | "refusing"

/** A memory store that fails like an unreachable Redis (or refuses like Redis itself) on demand. */
const scriptedPrimary = Effect.gen(function* () {
  const inner = yield* KvMemory.make
  const state = { mode: "up" as Mode, calls: 0 }
  const guard = <A, R>(operation: string, f: () => Effect.Effect<A, KvError, R>): Effect.Effect<A, KvError, R> =>
    Effect.suspend(() => {
      state.calls += 1
      if (state.mode === "up") return f()
      if (state.mode === "refusing") return Effect.fail(new KvError({ operation, message: "WRONGTYPE" }))
      return Effect.fail(new KvError({ operation, message: state.mode, unavailable: state.mode }))
    })
  const store: KvStore = {
    get: (key) => guard("get", () => inner.get(key)),
    getMany: (keys) => guard("getMany", () => inner.getMany(keys)),
    set: (key, value, ttl) => guard("set", () => inner.set(key, value, ttl)),
    setIfAbsent: (key, value, ttl) => guard("setIfAbsent", () => inner.setIfAbsent(key, value, ttl)),
    del: (key) => guard("del", () => inner.del(key)),
    incr: (key, by, ttl) => guard("incr", () => inner.incr(key, by, ttl)),
    incrIfPresent: (key, by) => guard("incrIfPresent", () => inner.incrIfPresent(key, by)),
    ttl: (key) => guard("ttl", () => inner.ttl(key)),
    pushCapped: (key, value, max, ttl) => guard("pushCapped", () => inner.pushCapped(key, value, max, ttl)),
    listRange: (key, start, stop) => guard("listRange", () => inner.listRange(key, start, stop)),
    publish: (channel, message) => guard("publish", () => inner.publish(channel, message)),
    subscribeScoped: (channel) => guard("subscribe", () => inner.subscribeScoped(channel)),
    subscribe: (channel) => inner.subscribe(channel),
    ping: guard("ping", () => inner.ping),
  }
  return { store, inner, state }
})

const lines: Array<string> = []
const collect = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ message }) => {
    lines.push(Array.isArray(message) ? message.join(" ") : String(message))
  }),
)
const logged = (text: string) => lines.filter((line) => line.includes(text)).length

const setup = Effect.gen(function* () {
  lines.length = 0
  const primary = yield* scriptedPrimary
  const local = yield* KvMemory.makeClearable
  const kv = yield* KvFallback.make(primary.store, local, { name: "Redis at test:6379", strictPrefixes: ["auth:jwt:"] })
  return { kv, primary, local }
})

describe("KvFallback", () => {
  it.scoped(
    "up: the primary answers; disconnected: the local store answers at once, and the primary is left alone until a probe gets through",
    () =>
      Effect.gen(function* () {
        const { kv, primary, local } = yield* setup
        yield* kv.set("a", "shared")
        expect(yield* primary.inner.get("a")).toBe("shared")

        primary.state.mode = "disconnected"
        // No failure reaches the caller: the write and the count are kept locally.
        yield* kv.set("a", "local")
        expect(yield* kv.incr("n", 1)).toBe(1)
        expect(yield* kv.incr("n", 1)).toBe(2)
        expect(yield* kv.get("a")).toBe("local")
        expect(yield* local.store.get("a")).toBe("local")
        // Down after the first failure: later operations never touch the primary.
        expect(primary.state.calls).toBe(2)
        expect(logged("KV store degraded: Redis at test:6379 is unreachable")).toBe(1)

        // The probe pings every 500 ms; while the primary is down nothing changes.
        yield* TestClock.adjust("1 second")
        expect(yield* kv.get("a")).toBe("local")
        expect(logged("KV store recovered")).toBe(0)

        primary.state.mode = "up"
        yield* TestClock.adjust("600 millis")
        expect(logged("KV store recovered: Redis at test:6379 answers again")).toBe(1)
        // Shared state again: the primary's value; the local entries are gone.
        expect(yield* kv.get("a")).toBe("shared")
        expect(yield* local.store.get("a")).toBeUndefined()
        expect(yield* kv.incr("n", 1)).toBe(1)
        expect(logged("KV store degraded")).toBe(1)
      }).pipe(Effect.provide(collect)),
  )

  it.scoped(
    "timed-out commands are answered locally; an outage only when they go on for a second with no answer to a probe",
    () =>
      Effect.gen(function* () {
        const { kv, primary } = yield* setup
        yield* kv.set("k", "shared")
        // A burst of timeouts (commands stalled together behind one pause): answered locally...
        primary.state.mode = "timeout"
        for (let i = 0; i < 10; i++) expect(yield* kv.get("k")).toBeUndefined()
        // ...and the probe's ping gets an answer: no outage, the primary is used again.
        primary.state.mode = "up"
        yield* TestClock.adjust("600 millis")
        expect(yield* kv.get("k")).toBe("shared")
        primary.state.mode = "timeout"
        yield* TestClock.adjust("1 second")
        yield* kv.get("k")
        expect(logged("KV store degraded")).toBe(0)

        // Timeouts that go on for a second while the probe's pings time out too: an outage.
        yield* TestClock.adjust("600 millis")
        yield* kv.get("k")
        yield* TestClock.adjust("500 millis")
        yield* kv.get("k")
        expect(logged("KV store degraded")).toBe(1)
        const calls = primary.state.calls
        yield* kv.get("k")
        expect(primary.state.calls).toBe(calls)
      }).pipe(Effect.provide(collect)),
  )

  it.scoped("the primary's own refusals are not outages: they reach the caller", () =>
    Effect.gen(function* () {
      const { kv, primary } = yield* setup
      primary.state.mode = "refusing"
      const error = yield* Effect.flip(kv.get("k"))
      expect(error).toMatchObject({ _tag: "KvError", message: "WRONGTYPE" })
      expect(error.unavailable).toBeUndefined()
      expect(logged("KV store degraded")).toBe(0)
    }).pipe(Effect.provide(collect)),
  )

  it.scoped("strict keys are never answered locally: they fail while the primary is down; ping tells the truth", () =>
    Effect.gen(function* () {
      const { kv, primary } = yield* setup
      yield* kv.set("auth:jwt:family-revoked:f1", "1")
      primary.state.mode = "disconnected"
      const first = yield* Effect.either(kv.getMany(["auth:jwt:family-revoked:f1", "other"]))
      expect(Either.isLeft(first) && first.left.unavailable).toBe("disconnected")
      const second = yield* Effect.either(kv.get("auth:jwt:family-revoked:f1"))
      expect(Either.isLeft(second)).toBe(true)
      // Other keys still work, and readiness still sees the outage.
      yield* kv.set("other", "x")
      expect(Either.isLeft(yield* Effect.either(kv.ping))).toBe(true)
      primary.state.mode = "up"
      yield* TestClock.adjust("600 millis")
      expect(yield* kv.get("auth:jwt:family-revoked:f1")).toBe("1")
    }).pipe(Effect.provide(collect)),
  )

  it.scoped("pub/sub: subscribers hear the primary, and this instance's own messages while it is down", () =>
    Effect.gen(function* () {
      const { kv, primary } = yield* setup
      const messages = yield* kv.subscribeScoped("chan")
      const received = yield* Stream.take(messages, 2).pipe(Stream.runCollect, Effect.fork)
      yield* kv.publish("chan", "via primary")
      primary.state.mode = "disconnected"
      yield* kv.publish("chan", "local only")
      expect(Chunk.toReadonlyArray(yield* Fiber.join(received))).toEqual(["via primary", "local only"])
    }).pipe(Effect.provide(collect)),
  )
})

const redisUrl = process.env.REDIS_URL
describe.runIf(redisUrl !== undefined && redisUrl !== "")("KvFallback in front of a real Redis", () => {
  it.live(
    "Redis cut: every operation answers in milliseconds (KV_TIMEOUT, no offline queue); back: shared again",
    () =>
      Effect.gen(function* () {
        lines.length = 0
        const { proxy, kv: connecting } = yield* proxiedRedisKv(redisUrl!)
        const primary = yield* connecting
        const kv = yield* KvFallback.make(primary, yield* KvMemory.makeClearable, {
          name: "Redis (proxied)",
          probeInterval: "100 millis",
        })
        yield* kv.set("k", "shared")

        yield* Effect.promise(() => proxy.cut())
        const started = performance.now()
        for (let i = 0; i < 100; i++) {
          yield* kv.incr("count", 1, "1 minute")
          yield* kv.get("k")
        }
        const perOperationMs = (performance.now() - started) / 200
        expect(perOperationMs).toBeLessThan(20)
        expect(yield* kv.get("count")).toBe("100")
        expect(logged("KV store degraded")).toBe(1)

        yield* Effect.promise(() => proxy.restore())
        const restored = performance.now()
        while (logged("KV store recovered") === 0 && performance.now() - restored < 5_000)
          yield* Effect.sleep("50 millis")
        expect(logged("KV store recovered")).toBe(1)
        expect(yield* kv.get("k")).toBe("shared")
        expect(yield* kv.get("count")).toBeUndefined()
        console.log(
          `KvFallback, Redis cut: ${perOperationMs.toFixed(3)} ms per operation; shared again ${(performance.now() - restored).toFixed(0)} ms after Redis came back`,
        )
      }).pipe(Effect.provide(collect), Effect.scoped),
    15_000,
  )
})
