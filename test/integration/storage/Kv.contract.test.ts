import * as net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Either, Fiber, Layer, Redacted, Schedule, Stream, TestClock } from "effect"
import { Redis } from "ioredis"
import { Kv, type KvStore } from "../../../src/storage/Kv.js"
import * as KvFallback from "../../../src/storage/KvFallback.js"
import * as KvMemory from "../../../src/storage/KvMemory.js"
import * as KvRedis from "../../../src/storage/KvRedis.js"
import { randomKvPrefix, redisLayer } from "../../support/TestKv.js"

/** A second gateway instance sharing the same backend (same Redis, same prefix). */
class PeerKv extends Context.Tag("test/PeerKv")<PeerKv, KvStore>() {}

interface Backend {
  readonly name: string
  readonly layer: Layer.Layer<Kv | PeerKv>
  /** Lets `ms` milliseconds pass for TTLs: TestClock for memory, real time for Redis. */
  readonly advance: (ms: number) => Effect.Effect<void>
  /** TTLs long enough to survive the test; short ones only where expiry is observed. */
  readonly shortTtlMs: number
}

const kvContract = (backend: Backend) =>
  describe(`Kv contract: ${backend.name}`, () => {
    it.layer(backend.layer, { timeout: 20_000 })((it) => {
      it.effect("get/set round-trips, missing keys are undefined, del removes", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          expect(yield* kv.get("missing")).toBeUndefined()
          yield* kv.set("a", "1")
          yield* kv.set("b", "two words ✓")
          expect(yield* kv.get("a")).toBe("1")
          expect(yield* kv.get("b")).toBe("two words ✓")
          yield* kv.set("a", "overwritten")
          expect(yield* kv.get("a")).toBe("overwritten")
          expect(yield* kv.ttl("a")).toBeUndefined()
          yield* kv.del("a")
          expect(yield* kv.get("a")).toBeUndefined()
          yield* kv.del("never-existed")
        }),
      )

      it.effect("getMany returns values in key order with undefined for absent keys", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          yield* kv.set("gm:1", "one")
          yield* kv.set("gm:3", "three")
          expect(yield* kv.getMany(["gm:1", "gm:2", "gm:3"])).toEqual(["one", undefined, "three"])
          expect(yield* kv.getMany([])).toEqual([])
        }),
      )

      it.effect("set with a TTL expires the key", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          const ttl = backend.shortTtlMs
          yield* kv.set("ttl:a", "v", ttl)
          const remaining = yield* kv.ttl("ttl:a")
          expect(remaining).toBeGreaterThan(0)
          expect(remaining).toBeLessThanOrEqual(ttl)
          expect(yield* kv.get("ttl:a")).toBe("v")
          yield* backend.advance(ttl + 50)
          expect(yield* kv.get("ttl:a")).toBeUndefined()
          expect(yield* kv.ttl("ttl:a")).toBeUndefined()
          // A plain set clears a previous TTL, like Redis SET.
          yield* kv.set("ttl:b", "v", "60 seconds")
          yield* kv.set("ttl:b", "w")
          expect(yield* kv.ttl("ttl:b")).toBeUndefined()
        }),
      )

      it.effect("setIfAbsent writes only when the key is absent (or expired)", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          expect(yield* kv.setIfAbsent("nx:a", "first", backend.shortTtlMs)).toBe(true)
          expect(yield* kv.setIfAbsent("nx:a", "second")).toBe(false)
          expect(yield* kv.get("nx:a")).toBe("first")
          yield* backend.advance(backend.shortTtlMs + 50)
          expect(yield* kv.setIfAbsent("nx:a", "third")).toBe(true)
          expect(yield* kv.get("nx:a")).toBe("third")
        }),
      )

      it.effect("setIfAbsent under concurrency: exactly one writer wins", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          const results = yield* Effect.forEach(
            Array.from({ length: 50 }, (_, i) => i),
            (i) => kv.setIfAbsent("nx:race", `writer-${i}`, "60 seconds"),
            { concurrency: "unbounded" },
          )
          expect(results.filter(Boolean)).toHaveLength(1)
        }),
      )

      it.effect("incr is atomic under concurrency", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          const values = yield* Effect.forEach(
            Array.from({ length: 200 }),
            () => kv.incr("counter:concurrent", 1, "60 seconds"),
            { concurrency: "unbounded" },
          )
          expect(yield* kv.get("counter:concurrent")).toBe("200")
          expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
          expect(yield* kv.incr("counter:by", 5)).toBe(5)
          expect(yield* kv.incr("counter:by", -7)).toBe(-2)
        }),
      )

      it.effect("incr applies the TTL only when it creates the key", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          expect(yield* kv.incr("counter:ttl", 1, "10 seconds")).toBe(1)
          const first = (yield* kv.ttl("counter:ttl"))!
          expect(first).toBeGreaterThan(9_000)
          expect(first).toBeLessThanOrEqual(10_000)
          // A later increment with a different TTL neither extends nor shortens the window.
          expect(yield* kv.incr("counter:ttl", 1, "1 hour")).toBe(2)
          expect(yield* kv.incr("counter:ttl", 1, "1 millis")).toBe(3)
          const later = (yield* kv.ttl("counter:ttl"))!
          expect(later).toBeGreaterThan(9_000)
          expect(later).toBeLessThanOrEqual(first)
          // Without a TTL the counter is permanent.
          yield* kv.incr("counter:forever")
          expect(yield* kv.ttl("counter:forever")).toBeUndefined()
        }),
      )

      it.effect("incrIfPresent increments only a key that exists, keeping its TTL; an absent key stays absent", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          expect(yield* kv.incrIfPresent("seeded:absent", 5)).toBeUndefined()
          expect(yield* kv.get("seeded:absent")).toBeUndefined()
          expect(yield* kv.setIfAbsent("seeded:a", "100", "10 seconds")).toBe(true)
          const first = (yield* kv.ttl("seeded:a"))!
          expect(yield* kv.incrIfPresent("seeded:a", 25)).toBe(125)
          expect(yield* kv.incrIfPresent("seeded:a", -5)).toBe(120)
          expect(yield* kv.get("seeded:a")).toBe("120")
          const later = (yield* kv.ttl("seeded:a"))!
          expect(later).toBeGreaterThan(9_000)
          expect(later).toBeLessThanOrEqual(first)
          // Past its TTL the key is absent again: nothing is counted until it is seeded anew.
          yield* kv.setIfAbsent("seeded:short", "7", backend.shortTtlMs)
          yield* backend.advance(backend.shortTtlMs + 50)
          expect(yield* kv.incrIfPresent("seeded:short", 1)).toBeUndefined()
          expect(yield* kv.get("seeded:short")).toBeUndefined()
        }),
      )

      it.effect("incrIfPresent is atomic under concurrency and refuses a non-integer value or increment", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          yield* kv.set("seeded:race", "1000000000000", "60 seconds")
          yield* Effect.forEach(Array.from({ length: 200 }), () => kv.incrIfPresent("seeded:race", 3), {
            concurrency: "unbounded",
          })
          expect(yield* kv.get("seeded:race")).toBe("1000000000600")
          yield* kv.set("seeded:text", "not a number")
          const text = yield* Effect.either(kv.incrIfPresent("seeded:text", 1))
          expect(Either.isLeft(text) && text.left._tag).toBe("KvError")
          expect(yield* kv.get("seeded:text")).toBe("not a number")
          const fraction = yield* Effect.either(kv.incrIfPresent("seeded:race", 0.5))
          expect(Either.isLeft(fraction) && fraction.left._tag).toBe("KvError")
        }),
      )

      it.effect("incr fails with KvError on a non-integer value", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          yield* kv.set("counter:text", "not a number")
          const result = yield* Effect.either(kv.incr("counter:text"))
          expect(Either.isLeft(result) && result.left._tag).toBe("KvError")
          expect(yield* kv.get("counter:text")).toBe("not a number")
        }),
      )

      it.effect("pushCapped keeps the newest maxLength entries, newest first, with a TTL", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          for (const value of ["a", "b", "c", "d", "e"]) {
            yield* kv.pushCapped("list:capped", value, 3, "60 seconds")
          }
          expect(yield* kv.listRange("list:capped", 0, -1)).toEqual(["e", "d", "c"])
          const ttl = (yield* kv.ttl("list:capped"))!
          expect(ttl).toBeGreaterThan(55_000)
          expect(ttl).toBeLessThanOrEqual(60_000)
          // Each push refreshes the TTL.
          yield* kv.pushCapped("list:capped", "f", 3, "120 seconds")
          expect((yield* kv.ttl("list:capped"))!).toBeGreaterThan(60_000)
          expect(yield* kv.listRange("list:capped", 0, -1)).toEqual(["f", "e", "d"])
          // Without a TTL the list has none.
          yield* kv.pushCapped("list:plain", "x", 10)
          expect(yield* kv.ttl("list:plain")).toBeUndefined()
        }),
      )

      it.effect("listRange follows LRANGE index semantics", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          for (const value of ["1", "2", "3", "4", "5"]) yield* kv.pushCapped("list:range", value, 100)
          expect(yield* kv.listRange("list:range", 0, 1)).toEqual(["5", "4"])
          expect(yield* kv.listRange("list:range", 1, 1)).toEqual(["4"])
          expect(yield* kv.listRange("list:range", -2, -1)).toEqual(["2", "1"])
          expect(yield* kv.listRange("list:range", 3, 100)).toEqual(["2", "1"])
          expect(yield* kv.listRange("list:range", 10, 20)).toEqual([])
          expect(yield* kv.listRange("list:range", 3, 1)).toEqual([])
          expect(yield* kv.listRange("list:absent", 0, -1)).toEqual([])
        }),
      )

      it.effect("pushCapped TTL expires the whole list", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          yield* kv.pushCapped("list:expiring", "x", 5, backend.shortTtlMs)
          expect(yield* kv.listRange("list:expiring", 0, -1)).toEqual(["x"])
          yield* backend.advance(backend.shortTtlMs + 50)
          expect(yield* kv.listRange("list:expiring", 0, -1)).toEqual([])
        }),
      )

      it.effect("ping succeeds", () => Effect.flatMap(Kv, (kv) => kv.ping))

      it.effect("subscribeScoped receives messages published by another instance, in order", () =>
        Effect.gen(function* () {
          const subscriber = yield* Kv
          const publisher = yield* PeerKv
          const stream = yield* subscriber.subscribeScoped("events")
          const other = yield* subscriber.subscribeScoped("other-channel")
          const received = yield* Effect.fork(Stream.runCollect(Stream.take(stream, 3)))
          const receivedOther = yield* Effect.fork(Stream.runCollect(Stream.take(other, 1)))
          yield* publisher.publish("events", "m1")
          yield* publisher.publish("other-channel", "o1")
          yield* publisher.publish("events", "m2")
          yield* publisher.publish("events", "m3")
          expect(Chunk.toArray(yield* Fiber.join(received))).toEqual(["m1", "m2", "m3"])
          expect(Chunk.toArray(yield* Fiber.join(receivedOther))).toEqual(["o1"])
        }).pipe(Effect.scoped),
      )

      it.effect("two local subscribers of one channel both receive; one leaving keeps the other", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          const publisher = yield* PeerKv
          const first = yield* kv.subscribeScoped("shared")
          const secondMessages = yield* Effect.scoped(
            Effect.gen(function* () {
              const second = yield* kv.subscribeScoped("shared")
              const a = yield* Effect.fork(Stream.runCollect(Stream.take(second, 1)))
              yield* publisher.publish("shared", "both")
              return Chunk.toArray(yield* Fiber.join(a))
            }),
          )
          expect(secondMessages).toEqual(["both"])
          const firstFiber = yield* Effect.fork(Stream.runCollect(Stream.take(first, 2)))
          yield* publisher.publish("shared", "first-only")
          expect(Chunk.toArray(yield* Fiber.join(firstFiber))).toEqual(["both", "first-only"])
        }).pipe(Effect.scoped),
      )

      it.effect("subscribe (stream form) delivers messages published while it runs", () =>
        Effect.gen(function* () {
          const kv = yield* Kv
          const publisher = yield* PeerKv
          // The stream subscribes when it starts running, so publish until it has heard one.
          const heard = yield* Stream.runHead(kv.subscribe("stream-form")).pipe(
            Effect.race(
              publisher.publish("stream-form", "hello").pipe(Effect.zipRight(backend.advance(20)), Effect.forever),
            ),
          )
          expect(heard._tag === "Some" && heard.value).toBe("hello")
        }),
      )
    })
  })

/** A loopback TCP proxy that can be cut (closing every connection) and restored on the same port. */
const startProxy = async (host: string, port: number) => {
  const sockets = new Set<net.Socket>()
  let server: net.Server | undefined
  let listenPort = 0
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(port, host)
        for (const socket of [client, upstream]) {
          sockets.add(socket)
          socket.on("error", () => socket.destroy())
          socket.on("close", () => sockets.delete(socket))
        }
        client.pipe(upstream).pipe(client)
        client.on("close", () => upstream.destroy())
        upstream.on("close", () => client.destroy())
      })
      s.once("error", reject)
      s.listen(listenPort, "127.0.0.1", () => {
        listenPort = (s.address() as net.AddressInfo).port
        server = s
        resolve()
      })
    })
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      if (server === undefined) return resolve()
      const s = server
      server = undefined
      s.close(() => resolve())
    })
  await listen()
  return { port: () => listenPort, listen, close }
}

const deleteKeys = async (url: string, ...keys: Array<string>) => {
  const raw = new Redis(url)
  await raw.del(...keys)
  await raw.quit()
}

const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

kvContract({
  name: "memory",
  layer: Layer.effect(PeerKv, Kv).pipe(Layer.provideMerge(KvMemory.layer)),
  advance: (ms) => TestClock.adjust(ms),
  shortTtlMs: 1_000,
})

/** `inner` behind the outage circuit (as the gateway runs Redis), with an unused local store. */
const behindFallback = (inner: Layer.Layer<Kv>): Layer.Layer<Kv> =>
  Layer.scoped(
    Kv,
    Effect.gen(function* () {
      const primary = yield* Kv
      return yield* KvFallback.make(primary, yield* KvMemory.makeClearable, { name: "primary" })
    }),
  ).pipe(Layer.provide(inner))

kvContract({
  name: "memory behind the fallback circuit",
  layer: Layer.effect(PeerKv, Kv).pipe(Layer.provideMerge(behindFallback(KvMemory.layer))),
  advance: (ms) => TestClock.adjust(ms),
  shortTtlMs: 1_000,
})

const redisUrl = process.env.REDIS_URL
if (redisUrl !== undefined && redisUrl !== "") {
  const prefix = randomKvPrefix()
  kvContract({
    name: "redis",
    layer: Layer.merge(
      redisLayer(redisUrl, prefix),
      Layer.effect(PeerKv, Kv).pipe(Layer.provide(redisLayer(redisUrl, prefix))),
    ),
    advance: realSleep,
    shortTtlMs: 150,
  })

  const fallbackPrefix = randomKvPrefix()
  kvContract({
    name: "redis behind the fallback circuit",
    layer: Layer.merge(
      behindFallback(redisLayer(redisUrl, fallbackPrefix)),
      Layer.effect(PeerKv, Kv).pipe(Layer.provide(behindFallback(redisLayer(redisUrl, fallbackPrefix)))),
    ),
    advance: realSleep,
    shortTtlMs: 150,
  })

  describe("Kv redis backend", () => {
    it.live("keys are namespaced under the prefix and removed on release", () =>
      Effect.gen(function* () {
        const prefix = randomKvPrefix()
        yield* Effect.scoped(
          Effect.gen(function* () {
            const kv = yield* KvRedis.make({ url: Redacted.make(redisUrl), prefix })
            yield* kv.set("k", "v")
          }),
        )
        const raw = new Redis(redisUrl)
        try {
          expect(yield* Effect.promise(() => raw.get(`${prefix}k`))).toBe("v")
        } finally {
          yield* Effect.promise(() => raw.del(`${prefix}k`))
          yield* Effect.promise(() => raw.quit())
        }
      }),
    )

    it.live(
      "a dropped connection fails operations with KvError, then recovers",
      () =>
        Effect.gen(function* () {
          const target = new URL(redisUrl)
          const proxy = yield* Effect.acquireRelease(
            Effect.promise(() => startProxy(target.hostname, Number(target.port || 6379))),
            (proxy) => Effect.promise(() => proxy.close()),
          )
          const proxied = new URL(redisUrl)
          proxied.port = String(proxy.port())
          const prefix = randomKvPrefix()
          const kv = yield* KvRedis.make({
            url: Redacted.make(proxied.toString()),
            prefix,
            commandTimeout: "500 millis",
          })
          yield* kv.set("k", "before")
          yield* Effect.promise(() => proxy.close())
          const failed = yield* Effect.either(kv.get("k"))
          expect(Either.isLeft(failed) && failed.left._tag).toBe("KvError")
          yield* Effect.promise(() => proxy.listen())
          // ioredis reconnects in the background; the store works again without a restart.
          const value = yield* kv
            .get("k")
            .pipe(Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(40)))))
          expect(value).toBe("before")
          yield* Effect.promise(() => deleteKeys(redisUrl, `${prefix}k`))
        }).pipe(Effect.scoped),
      15_000,
    )

    it.live("TestKv cleanup deletes every key under its prefix", () =>
      Effect.gen(function* () {
        const prefix = randomKvPrefix()
        yield* Effect.scoped(
          Layer.build(redisLayer(redisUrl, prefix)).pipe(
            Effect.flatMap((context) => Context.get(context, Kv).set("doomed", "x")),
          ),
        )
        const raw = new Redis(redisUrl)
        const keys = yield* Effect.promise(() => raw.keys(`${prefix}*`))
        yield* Effect.promise(() => raw.quit())
        expect(keys).toEqual([])
      }),
    )
  })
}

describe("Kv redis backend without a server", () => {
  it.live("a refused connection fails with a KvError naming host:port, never the password", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.scoped(KvRedis.make({ url: Redacted.make("redis://user:hunter2secret@127.0.0.1:1"), prefix: "x:" })),
      )
      expect(error._tag).toBe("KvError")
      expect(error.message).toContain("REDIS_URL: could not connect to redis at 127.0.0.1:1")
      expect(error.message).not.toContain("hunter2secret")
    }),
  )
})
