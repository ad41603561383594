import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { UsageLedger } from "../../../src/usage/UsageLedger.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { TestDatabase } from "../../support/TestDatabase.js"

/** The ledger against the real database of the run (PGlite, or Postgres with DATABASE_URL). */

const KEY_A = "00000000-0000-4000-8000-00000000000a"
const KEY_B = "00000000-0000-4000-8000-00000000000b"
const USER_1 = "00000000-0000-4000-8000-000000000001"
const USER_2 = "00000000-0000-4000-8000-000000000002"

/** A cost in nano-dollars: large enough that a float sum of many would drift, exact as integers. */
const costOf = (input: number, output: number) => input * 1_000_000_001 + output * 3

const entry = (
  apiKeyId: string | null,
  userId: string | null,
  input: number,
  output: number,
  complete = true,
  cost: number | null = costOf(input, output),
) => ({
  apiKeyId,
  userId,
  provider: "openai",
  model: "gpt-4o-mini",
  usage: { inputTokens: input, outputTokens: output, cachedInputTokens: 1 },
  cost,
  complete,
})

/** A ledger instance living in the current scope (its background writer and final flush too). */
const makeLedger = Effect.map(Layer.build(UsageLedger.Default), Context.get(UsageLedger))

const Env = Layer.mergeAll(TestDatabase, testConfigLayer())

const window = () => ({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) })

describe("UsageLedger", () => {
  it.live("sums answered requests per caller and upstream; what two instances write adds up", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const first = yield* makeLedger
      const second = yield* makeLedger

      first.record(entry(KEY_A, USER_1, 10, 5))
      first.record(entry(KEY_A, USER_1, 20, 7, false))
      first.record(entry(null, null, 3, 3))
      second.record(entry(KEY_A, USER_1, 1, 1))
      second.record(entry(KEY_B, USER_2, 100, 50))
      second.record(entry(KEY_B, USER_2, 7, 7, true, null))
      yield* first.flush
      yield* second.flush

      const stored = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM usage_minutes`
      expect(stored[0]!.n).toBeGreaterThanOrEqual(3)

      const all = yield* first.summary(window())
      const byCaller = new Map(all.map((r) => [r.api_key_id ?? "master", r]))
      expect(byCaller.get(KEY_A)).toMatchObject({
        user_id: USER_1,
        provider: "openai",
        model: "gpt-4o-mini",
        requests: 3,
        incomplete: 1,
        input_tokens: 31,
        output_tokens: 13,
        cached_input_tokens: 3,
      })
      // Costs add up exactly, across instances; an unpriced answer is counted apart, not as zero cost.
      expect(byCaller.get(KEY_A)).toMatchObject({
        cost_nanousd: String(costOf(10, 5) + costOf(20, 7) + costOf(1, 1)),
        unpriced: 0,
      })
      expect(byCaller.get(KEY_B)).toMatchObject({
        user_id: USER_2,
        requests: 2,
        input_tokens: 107,
        output_tokens: 57,
        cost_nanousd: String(costOf(100, 50)),
        unpriced: 1,
      })
      expect(byCaller.get("master")).toMatchObject({
        user_id: null,
        requests: 1,
        input_tokens: 3,
        cost_nanousd: String(costOf(3, 3)),
      })

      // By UTC day: the same sums, each row naming its day.
      const byDay = yield* first.summary({ ...window(), bucket: "day" })
      const days = new Set([
        new Date(Date.now() - 3_600_000).toISOString().slice(0, 10),
        new Date().toISOString().slice(0, 10),
      ])
      expect(byDay.every((r) => r.day !== undefined && days.has(r.day))).toBe(true)
      const sum = (rows: ReadonlyArray<{ requests: number; cost_nanousd: string }>) => [
        rows.reduce((n, r) => n + r.requests, 0),
        rows.reduce((n, r) => n + BigInt(r.cost_nanousd), 0n),
      ]
      expect(sum(byDay)).toEqual(sum(all))

      // By UTC hour: the same sums, each row naming its hour's start.
      const byHour = yield* first.summary({ ...window(), bucket: "hour" })
      const hourOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 13)}:00:00.000Z`
      const hours = new Set([hourOf(Date.now() - 3_600_000), hourOf(Date.now())])
      expect(byHour.every((r) => r.hour !== undefined && hours.has(r.hour) && r.day === undefined)).toBe(true)
      expect(sum(byHour)).toEqual(sum(all))

      // One user's view; and nothing outside the window.
      expect((yield* first.summary({ ...window(), userId: USER_2 })).map((r) => r.api_key_id)).toEqual([KEY_B])
      expect(
        yield* first.summary({ from: new Date(Date.now() + 120_000), to: new Date(Date.now() + 180_000) }),
      ).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(Env)),
  )

  it.live("a read writes this instance's pending usage first; pending usage is written when the ledger stops", () =>
    Effect.gen(function* () {
      const ledger = yield* makeLedger
      ledger.record(entry(KEY_A, USER_1, 4, 2))
      // No flush: the read itself writes what is pending.
      expect((yield* ledger.summary(window()))[0]).toMatchObject({ requests: 1, input_tokens: 4 })

      // A ledger released with usage still pending writes it on the way out.
      yield* Effect.scoped(
        Effect.gen(function* () {
          const shortLived = yield* makeLedger
          shortLived.record(entry(KEY_A, USER_1, 6, 3))
        }),
      )
      expect((yield* ledger.summary(window()))[0]).toMatchObject({ requests: 2, input_tokens: 10, output_tokens: 5 })
    }).pipe(Effect.scoped, Effect.provide(Env)),
  )

  it.live("rows older than USAGE_RETENTION_DAYS (90 by default) are pruned; recent ones stay", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const ledger = yield* makeLedger
      const now = new Date()
      const old = new Date(now.getTime() - 91 * 86_400_000)
      const recent = new Date(now.getTime() - 89 * 86_400_000)
      for (const minute of [old, recent]) {
        yield* sql`INSERT INTO usage_minutes (minute, caller, provider, model, requests) VALUES (${minute}, 'master', 'p', 'm', 1)`
      }
      yield* ledger.prune(now)
      const left = yield* sql<{ minute: Date }>`SELECT minute FROM usage_minutes WHERE provider = 'p' ORDER BY minute`
      expect(left.map((r) => new Date(r.minute).getTime())).toEqual([recent.getTime()])
    }).pipe(Effect.scoped, Effect.provide(Env)),
  )
})
