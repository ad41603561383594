import { randomBytes } from "node:crypto"
import { Effect, Layer, Redacted } from "effect"
import { Redis } from "ioredis"
import { Kv } from "../../src/storage/Kv.js"
import * as KvMemory from "../../src/storage/KvMemory.js"
import * as KvRedis from "../../src/storage/KvRedis.js"
import { startTcpProxy } from "./TcpProxy.js"

/** A fresh prefix per layer build, so concurrent test files sharing one Redis never collide. */
export const randomKvPrefix = () => `apiproxy-test-${randomBytes(6).toString("hex")}:`

const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`)

/** Deletes every key under `prefix` (SCAN MATCH prefix*, never KEYS). */
export const deleteRedisPrefix = (url: string, prefix: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true })),
    (redis) =>
      Effect.tryPromise(async () => {
        redis.on("error", () => {})
        await redis.connect()
        let cursor = "0"
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", 500)
          cursor = next
          if (keys.length > 0) await redis.unlink(...keys)
        } while (cursor !== "0")
      }),
    (redis) => Effect.promise(() => redis.quit().catch(() => redis.disconnect())),
  )

/**
 * A Redis KV (KV_TIMEOUT 100 ms) reached through a loopback proxy the test can cut or slow
 * (`TcpProxy`), under a random prefix; proxy closed and keys deleted with the scope.
 */
export const proxiedRedisKv = (url: string, proxyOptions: Parameters<typeof startTcpProxy>[2] = {}) =>
  Effect.gen(function* () {
    const target = new URL(url)
    const proxy = yield* Effect.acquireRelease(
      Effect.promise(() => startTcpProxy(target.hostname, Number(target.port || 6379), proxyOptions)),
      (proxy) => Effect.promise(() => proxy.close()),
    )
    const prefix = randomKvPrefix()
    yield* Effect.addFinalizer(() => Effect.orDie(deleteRedisPrefix(url, prefix)))
    const kv = KvRedis.make({ url: Redacted.make(proxy.rewrite(url)), prefix, commandTimeout: "100 millis" })
    return { proxy, kv }
  })

/** The Redis backend under a random prefix whose keys are deleted on release. */
export const redisLayer = (url: string, fixedPrefix?: string): Layer.Layer<Kv> =>
  Layer.scoped(
    Kv,
    Effect.gen(function* () {
      const prefix = fixedPrefix ?? randomKvPrefix()
      // Registered first so it runs last: after the store has closed its connections.
      yield* Effect.addFinalizer(() => Effect.orDie(deleteRedisPrefix(url, prefix)))
      return yield* KvRedis.make({ url: Redacted.make(url), prefix })
    }),
  ).pipe(Layer.orDie)

/** A fresh in-memory store. */
export const memoryLayer: Layer.Layer<Kv> = KvMemory.layer

/**
 * `Kv` for tests: Redis under a throwaway prefix when `REDIS_URL` is set, memory otherwise.
 * Each build is independent (fresh prefix / fresh maps).
 */
export const TestKv: Layer.Layer<Kv> = Layer.unwrapEffect(
  Effect.sync(() => {
    const url = process.env.REDIS_URL
    return url !== undefined && url.trim() !== "" ? redisLayer(url) : memoryLayer
  }),
)
