import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { proxiedRedisKv } from "../../support/TestKv.js"

const redisUrl = process.env.REDIS_URL

describe.runIf(redisUrl !== undefined && redisUrl !== "")("KvRedis against a real Redis", () => {
  it.live(
    "a handshake slower than KV_TIMEOUT still connects (a busy start), and commands keep KV_TIMEOUT",
    () =>
      Effect.gen(function* () {
        // Redis's first answers on each connection (CLIENT SETINFO, the ready check's INFO) arrive
        // 400 ms late, as when the gateway's event loop is busy while it starts.
        const { proxy, kv: connecting } = yield* proxiedRedisKv(redisUrl!, { firstReplyDelayMs: 400 })
        const kv = yield* Effect.either(connecting)
        expect(Either.isRight(kv), Either.isLeft(kv) ? kv.left.message : "").toBe(true)
        if (Either.isLeft(kv)) return
        yield* kv.right.set("k", "v")
        expect(yield* kv.right.get("k")).toBe("v")

        // Once ready, a command waits KV_TIMEOUT, not the handshake's 5 s: Redis answering
        // 400 ms late fails the read in about 100 ms.
        proxy.holdReplies(400)
        const started = performance.now()
        const late = yield* Effect.either(kv.right.get("k"))
        expect(Either.isLeft(late)).toBe(true)
        expect(performance.now() - started).toBeLessThan(350)
      }).pipe(Effect.scoped),
    15_000,
  )
})
