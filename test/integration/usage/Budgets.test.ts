import { randomUUID } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either, Layer, Logger, Metric } from "effect"
import type { Budget } from "../../../src/shared/Budget.js"
import { Kv } from "../../../src/storage/Kv.js"
import { UsageRepository } from "../../../src/storage/UsageRepository.js"
import { windowOf } from "../../../src/usage/BudgetPeriod.js"
import { type BudgetHolder, Budgets, softBudgetOverruns } from "../../../src/usage/Budgets.js"
import { UsageLedger } from "../../../src/usage/UsageLedger.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { TestDatabase } from "../../support/TestDatabase.js"
import { TestKv } from "../../support/TestKv.js"

/**
 * The budget service against the run's real storage (PGlite and memory, or Postgres and Redis):
 * counters seeded from `usage_minutes` and this instance's pending usage, increments, refusals,
 * soft budgets, resets after a change, and requests served when the spend cannot be read.
 */

const Env = Layer.mergeAll(TestDatabase, TestKv, testConfigLayer())
const Live = Budgets.Default.pipe(
  Layer.provideMerge(UsageLedger.Default),
  Layer.provideMerge(UsageRepository.Default),
  Layer.provideMerge(Env),
)

const day = (amountNanoUsd: number, soft = false): Budget => ({ amountNanoUsd, period: "day", soft })

const holder = (
  budgets: BudgetHolder["budgets"],
): BudgetHolder & { readonly apiKeyId: string; readonly userId: string } => ({
  apiKeyId: randomUUID(),
  userId: randomUUID(),
  budgets,
})

const spend = (who: { readonly apiKeyId: string; readonly userId: string }, cost: number) => ({
  apiKeyId: who.apiKeyId,
  userId: who.userId,
  provider: "p",
  model: "m",
  usage: { inputTokens: 1, outputTokens: 1 },
  cost,
  complete: true,
})

/** Polls `status` until its spend is `expected` (a counter is incremented in the background). */
const spentBecomes = (
  owner: { readonly scope: "api_key" | "user"; readonly id: string },
  budget: Budget,
  expected: number,
) =>
  Effect.gen(function* () {
    const budgets = yield* Budgets
    let used = -1
    for (let i = 0; i < 100 && used !== expected; i++) {
      if (i > 0) yield* Effect.sleep("10 millis")
      used = (yield* budgets.status(owner, budget)).usedNanoUsd
    }
    expect(used).toBe(expected)
  })

layer(Live, { timeout: 60_000, excludeTestServices: true })("Budgets", (it) => {
  it.effect(
    "a missing counter is seeded from the database and this instance's pending usage; answers add to it; used up, the request is refused",
    () =>
      Effect.gen(function* () {
        const budgets = yield* Budgets
        const ledger = yield* UsageLedger
        const sql = yield* SqlClient.SqlClient
        const who = holder({ key: day(1_000) })
        // Yesterday's spend is not today's; written spend and pending spend both are.
        const yesterday = new Date(windowOf("day", Date.now()).startMs - 60_000)
        yield* sql`INSERT INTO usage_minutes (minute, caller, api_key_id, user_id, provider, model, requests, cost_nanousd)
                 VALUES (${yesterday}, ${`key:${who.apiKeyId}`}, ${who.apiKeyId}, ${who.userId}, 'p', 'm', 1, 5000)`
        ledger.record(spend(who, 300))
        yield* ledger.flush
        ledger.record(spend(who, 400))
        yield* budgets.check(who)
        expect((yield* budgets.status({ scope: "api_key", id: who.apiKeyId }, day(1_000))).usedNanoUsd).toBe(700)
        // The same owner's total counts yesterday too: another counter.
        expect(
          (yield* budgets.status({ scope: "user", id: who.userId }, { amountNanoUsd: 1, period: "total", soft: false }))
            .usedNanoUsd,
        ).toBe(5_700)

        budgets.recordSpend(who, 299)
        yield* spentBecomes({ scope: "api_key", id: who.apiKeyId }, day(1_000), 999)
        yield* budgets.check(who)
        budgets.recordSpend(who, 1)
        yield* spentBecomes({ scope: "api_key", id: who.apiKeyId }, day(1_000), 1_000)
        const refused = yield* Effect.either(budgets.check(who))
        expect(Either.isLeft(refused) && refused.left).toMatchObject({
          _tag: "BudgetExceeded",
          budget: "api_key",
          period: "day",
          limitUsd: "0.000001",
          usedUsd: "0.000001",
          resetsAt: new Date(windowOf("day", Date.now()).endMs!).toISOString(),
        })
        // Unpriced answers (null) and callers without budgets change nothing.
        budgets.recordSpend(who, null)
        budgets.recordSpend({ apiKeyId: who.apiKeyId, userId: who.userId }, 10_000)
        yield* Effect.sleep("50 millis")
        expect((yield* budgets.status({ scope: "api_key", id: who.apiKeyId }, day(1_000))).usedNanoUsd).toBe(1_000)
      }),
  )

  it.effect(
    "concurrent requests on a missing counter agree on one seed; spend before it is read from the database, never counted twice",
    () =>
      Effect.gen(function* () {
        const budgets = yield* Budgets
        const ledger = yield* UsageLedger
        const kv = yield* Kv
        const who = holder({ user: day(1_000_000) })
        ledger.record(spend(who, 250))
        // No counter yet: this increment is dropped, the ledger has the spend.
        budgets.recordSpend(who, 250)
        yield* Effect.sleep("20 millis")
        yield* Effect.forEach(Array.from({ length: 20 }), () => budgets.check(who), { concurrency: "unbounded" })
        const key = `budget:spent:user:${who.userId}:day:${windowOf("day", Date.now()).startMs}`
        expect(yield* kv.get(key)).toBe("250")
        const ttl = (yield* kv.ttl(key))!
        expect(ttl).toBeGreaterThan(0)
        expect(ttl).toBeLessThanOrEqual(3_600_000)
      }),
  )

  it.effect("after a change the counters are dropped, and the spend is read from the database again", () =>
    Effect.gen(function* () {
      const budgets = yield* Budgets
      const ledger = yield* UsageLedger
      const who = holder({ key: day(1_000_000) })
      const owner = { scope: "api_key" as const, id: who.apiKeyId }
      expect((yield* budgets.status(owner, day(1_000_000))).usedNanoUsd).toBe(0)
      // Spend while the caller had no budget is not counted by the counter…
      ledger.record(spend(who, 42))
      expect((yield* budgets.status(owner, day(1_000_000))).usedNanoUsd).toBe(0)
      // …until a budget change drops it.
      yield* budgets.forget(owner)
      expect((yield* budgets.status(owner, day(1_000_000))).usedNanoUsd).toBe(42)
      // Another kind of period is another counter, seeded on its own.
      expect((yield* budgets.status(owner, { amountNanoUsd: 1, period: "month", soft: false })).usedNanoUsd).toBe(42)
    }),
  )

  it.effect("a soft budget never refuses: it is counted and logged once", () =>
    Effect.gen(function* () {
      const budgets = yield* Budgets
      const ledger = yield* UsageLedger
      const who = holder({ key: day(100, true), user: day(1_000_000) })
      ledger.record(spend(who, 150))
      const lines: Array<string> = []
      const logger = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message, annotations }) => lines.push(`${String(message)} ${JSON.stringify([...annotations])}`)),
      )
      const before = (yield* Metric.value(softBudgetOverruns)).count
      for (let i = 0; i < 3; i++) yield* budgets.check(who).pipe(Effect.provide(logger))
      expect((yield* Metric.value(softBudgetOverruns)).count - before).toBe(3)
      expect(lines.filter((line) => line.includes("soft budget exceeded"))).toHaveLength(1)
      expect(lines[0]).toContain(who.apiKeyId)
    }),
  )
})

describe("Budgets without storage", () => {
  it.live("when the spend cannot be read, the request is served and a warning logged", () =>
    Effect.gen(function* () {
      const refused = new SqlError({ cause: new Error("connection refused"), message: "connection refused" })
      const broken = UsageRepository.make({
        addMinutes: () => Effect.fail(refused),
        deleteBefore: () => Effect.fail(refused),
        summarize: () => Effect.fail(refused) as never,
        spentSince: () => Effect.fail(refused),
      })
      const lines: Array<string> = []
      const logger = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message }) => lines.push(String(message))),
      )
      const layer = Budgets.DefaultWithoutDependencies.pipe(
        Layer.provideMerge(UsageLedger.DefaultWithoutDependencies),
        Layer.provide(Layer.succeed(UsageRepository, broken)),
        Layer.provide(Layer.mergeAll(TestKv, testConfigLayer())),
      )
      yield* Effect.gen(function* () {
        const budgets = yield* Budgets
        const who = holder({ key: day(0) })
        // A zero budget refuses everything — but its spend cannot be read: served.
        yield* budgets.check(who)
        yield* budgets.check(who)
        expect(lines.filter((line) => line.includes("budget not checked"))).toHaveLength(1)
        const status = yield* Effect.either(budgets.status({ scope: "api_key", id: who.apiKeyId }, day(0)))
        expect(Either.isLeft(status) && status.left._tag).toBe("BudgetUnknown")
      }).pipe(Effect.provide(layer), Effect.provide(logger), Effect.scoped)
    }),
  )
})
