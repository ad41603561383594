import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { FLUSH_INTERVAL, UsageLedger } from "../../../src/usage/UsageLedger.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { TestDatabase } from "../../support/TestDatabase.js"

/**
 * The loss window of a process killed without warning: usage recorded on the request path must
 * reach the database by itself (no read, no shutdown flush) within a few seconds.
 */

const KEY = "00000000-0000-4000-8000-0000000000f1"
const USER = "00000000-0000-4000-8000-0000000000f2"

const makeLedger = Effect.map(Layer.build(UsageLedger.Default), Context.get(UsageLedger))
const Env = Layer.mergeAll(TestDatabase, testConfigLayer())

describe("UsageLedger flush interval", () => {
  it.live(
    "recorded usage is in usage_minutes within FLUSH_INTERVAL (2 s) without a read or a shutdown",
    () =>
      Effect.gen(function* () {
        expect(Duration.toMillis(FLUSH_INTERVAL)).toBeLessThanOrEqual(2_000)
        const sql = yield* SqlClient.SqlClient
        const ledger = yield* makeLedger
        const stored = sql<{
          n: number
        }>`SELECT COALESCE(SUM(requests), 0)::int AS n FROM usage_minutes WHERE api_key_id = ${KEY}`
        const model = (i: number) => `model-${i}`
        const started = Date.now()
        for (let i = 0; i < 50; i++) {
          ledger.record({
            apiKeyId: KEY,
            userId: USER,
            provider: "openai",
            model: model(i),
            usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 0 },
            cost: 1_234,
            complete: true,
          })
        }
        // Polled straight from the table: `summary` would write the pending usage itself.
        let seen = 0
        while (seen < 50 && Date.now() - started < 3_500) {
          yield* Effect.sleep("100 millis")
          seen = (yield* stored)[0]!.n
        }
        const waitedMs = Date.now() - started
        expect(seen).toBe(50)
        expect(waitedMs).toBeLessThan(3_500)

        // What one periodic write costs: 50 rows (50 callers × upstreams of one minute) in one upsert.
        for (let i = 0; i < 50; i++) {
          ledger.record({
            apiKeyId: KEY,
            userId: USER,
            provider: "openai",
            model: model(i),
            usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0 },
            cost: null,
            complete: true,
          })
        }
        const flushStarted = performance.now()
        yield* ledger.flush
        const flushMs = performance.now() - flushStarted
        console.log(
          `usage flush: recorded usage reached the database after ${waitedMs} ms (interval ${Duration.format(FLUSH_INTERVAL)}); one 50-row upsert took ${flushMs.toFixed(1)} ms`,
        )
        expect((yield* stored)[0]!.n).toBe(100)
      }).pipe(Effect.scoped, Effect.provide(Env)),
    15_000,
  )
})
