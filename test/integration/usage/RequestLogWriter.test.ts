import { randomUUID } from "node:crypto"
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Redacted } from "effect"
import {
  addAttempt,
  addUsage,
  closeRecord,
  newRequestRecord,
  type RequestRecord,
  setCaller,
  setError,
  setRequestBody,
  setResponseBody,
  setServed,
} from "../../../src/shared/RequestRecord.js"
import * as Database from "../../../src/storage/Database.js"
import { FLUSH_INTERVAL, RequestLogWriter } from "../../../src/usage/RequestLogWriter.js"
import { reachable, startTcpProxy } from "../../support/TcpProxy.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { TestDatabase } from "../../support/TestDatabase.js"
import { createStorage, OUTAGE_DATABASE_URL } from "../../support/TestGateway.js"

/** The request log's writer against the real database of the run (PGlite, or Postgres with DATABASE_URL). */

const USER = "00000000-0000-4000-8000-0000000000a1"
const KEY = "00000000-0000-4000-8000-0000000000a2"

const sample = (i: number, startedAt = Date.now()): RequestRecord => {
  const record = newRequestRecord(randomUUID(), `req-${i}`, "openai-chat", "/v1/chat/completions", startedAt)
  setCaller(record, { userId: USER, apiKeyId: KEY })
  record.requestedModel = "fast"
  record.stream = i % 2 === 0
  addAttempt(record, "down", "m-1", "http", 503, 4)
  addAttempt(record, "up", "m-2", "ok", 200, 9)
  setServed(record, "up", "m-2")
  addUsage(record, { inputTokens: i, outputTokens: 2, cachedInputTokens: 1, reasoningTokens: 3 })
  record.complete = true
  record.costNanoUsd = 1_234_567 + i
  record.ttftMs = record.stream ? 7 : null
  closeRecord(record, 200, startedAt + 25)
  return record
}

const makeWriter = Effect.map(Layer.build(RequestLogWriter.Default), Context.get(RequestLogWriter))

const countRows = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM request_log`,
).pipe(Effect.map((rows) => rows[0]!.n))

/** A small body budget (32 rows of 64 Ki characters): the test writes them all, so it stays quick. */
const BODY_CHARS = 2 * 1024 * 1024
const Env = (overrides: Record<string, string> = {}) => Layer.mergeAll(TestDatabase, testConfigLayer(overrides))

describe("RequestLogWriter", () => {
  it.live(
    "writes every recorded row in statements of 1 000, each field as recorded, within FLUSH_INTERVAL and without a flush",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const writer = yield* makeWriter
        const records = Array.from({ length: 2_500 }, (_, i) => sample(i))
        const failed = newRequestRecord(randomUUID(), "req-failed", "anthropic", "/v1/messages", Date.now())
        setCaller(failed, { userId: null, apiKeyId: null })
        failed.requestedModel = "claude-x"
        setError(
          failed,
          "AllUpstreamsFailed",
          "All upstream providers failed for model 'claude-x' after 2 attempt(s): HTTP 503",
        )
        closeRecord(failed, 502, failed.startedAt + 3)
        for (const record of [...records, failed]) writer.record(record)

        const started = Date.now()
        let stored = 0
        while (stored < 2_501 && Date.now() - started < 3 * Duration.toMillis(FLUSH_INTERVAL) + 2_000) {
          yield* Effect.sleep("100 millis")
          stored = yield* countRows
        }
        expect(stored).toBe(2_501)
        expect(writer.stats()).toEqual({ buffered: 0, dropped: 0, written: 2_501, bodiesDropped: 0 })

        const [row] = yield* sql<Record<string, unknown>>`
        SELECT request_id, user_id, api_key_id, dialect, endpoint, requested_model, stream, provider, model, attempts, status,
               complete, rescued, latency_ms, ttft_ms, input_tokens::int, output_tokens::int, cached_input_tokens::int,
               reasoning_tokens::int, cost_nanousd::float8 AS cost_nanousd, error_class, error_message
        FROM request_log WHERE request_id = 'req-42'`
        expect(row).toEqual({
          request_id: "req-42",
          user_id: USER,
          api_key_id: KEY,
          dialect: "openai-chat",
          endpoint: "/v1/chat/completions",
          requested_model: "fast",
          stream: true,
          provider: "up",
          model: "m-2",
          attempts: [
            { provider: "down", model: "m-1", outcome: "http", status: 503, ms: 4 },
            { provider: "up", model: "m-2", outcome: "ok", status: 200, ms: 9 },
          ],
          status: 200,
          complete: true,
          rescued: false,
          latency_ms: 25,
          ttft_ms: 7,
          input_tokens: 42,
          output_tokens: 2,
          cached_input_tokens: 1,
          reasoning_tokens: 3,
          cost_nanousd: 1_234_609,
          error_class: null,
          error_message: null,
        })
        const [bad] = yield* sql<Record<string, unknown>>`
        SELECT user_id, api_key_id, status, complete, provider, attempts, error_class, error_message FROM request_log WHERE request_id = 'req-failed'`
        expect(bad).toEqual({
          user_id: null,
          api_key_id: null,
          status: 502,
          complete: false,
          provider: null,
          attempts: [],
          error_class: "AllUpstreamsFailed",
          error_message: "All upstream providers failed for model 'claude-x' after 2 attempt(s): HTTP 503",
        })
      }).pipe(Effect.scoped, Effect.provide(Env())),
    60_000,
  )

  it.live(
    "a full buffer drops and counts what does not fit; what it holds is written when the writer stops; a row is written once",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const kept = Array.from({ length: 100 }, (_, i) => sample(i))
        yield* Effect.scoped(
          Effect.gen(function* () {
            const writer = yield* makeWriter
            // Synchronous appends: the background writer cannot run in between.
            for (const record of kept) writer.record(record)
            for (let i = 0; i < 30; i++) writer.record(sample(1_000 + i))
            expect(writer.stats()).toEqual({ buffered: 100, dropped: 30, written: 0, bodiesDropped: 0 })
          }),
        )
        expect(yield* countRows).toBe(100)
        const ids = yield* sql<{ request_id: string }>`SELECT request_id FROM request_log ORDER BY request_id`
        expect(ids.map((r) => r.request_id)).toEqual(kept.map((r) => r.requestId).sort())

        // The same rows again (a batch retried after its answer was lost): inserted once.
        const again = yield* makeWriter
        for (const record of kept.slice(0, 10)) again.record(record)
        yield* again.flush
        expect(yield* countRows).toBe(100)
      }).pipe(Effect.scoped, Effect.provide(Env({ REQUEST_LOG_BUFFER_ROWS: "100" }))),
    20_000,
  )

  it.live(
    "a row the database refuses (a value its column cannot take) is dropped and counted alone; the rest of its batch is written",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const writer = yield* makeWriter
        const good = Array.from({ length: 9 }, (_, i) => sample(i))
        const bad = { ...sample(99), dialect: "x".repeat(40) }
        const awkward = sample(100)
        setError(awkward, "UpstreamStatusError", "nul\u0000 and a lone \uD83D surrogate")
        for (const record of [...good.slice(0, 4), bad, awkward, ...good.slice(4)]) writer.record(record)
        yield* writer.flush
        expect(writer.stats()).toEqual({ buffered: 0, dropped: 1, written: 10, bodiesDropped: 0 })
        const stored = yield* sql<{
          request_id: string
          error_message: string | null
        }>`SELECT request_id, error_message FROM request_log ORDER BY request_id`
        expect(stored.map((r) => r.request_id)).toEqual([...good, awkward].map((r) => r.requestId).sort())
        expect(stored.find((r) => r.request_id === awkward.requestId)!.error_message).toBe(
          "nul  and a lone \uFFFD surrogate",
        )
      }).pipe(Effect.scoped, Effect.provide(Env())),
  )

  it.live(
    "bodies of a key that keeps them are written as kept (redacted, cut, marked); past REQUEST_LOG_BUFFER_BODY_CHARS a row is kept without them, counted",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const writer = yield* makeWriter
        const withBodies = (i: number, request: string, response: string) => {
          const record = newRequestRecord(randomUUID(), `body-${i}`, "openai-chat", "/v1/chat/completions", Date.now())
          setCaller(record, { userId: USER, apiKeyId: KEY, logBodies: true })
          setRequestBody(record, request)
          setResponseBody(record, response)
          closeRecord(record, 200, record.startedAt + 5)
          return record
        }
        writer.record(
          withBodies(
            0,
            '{"model":"m","api_key":"plain-secret","messages":[{"role":"user","content":"hi \u0000"}]}',
            '{"id":"r","choices":[]}',
          ),
        )
        writer.record(withBodies(1, `{"pad":"${"é".repeat(40_000)}"}`, "ok"))
        writer.record(sample(2))
        yield* writer.flush
        const stored = yield* sql<{
          request_id: string
          request_body: string | null
          response_body: string | null
          bodies_truncated: boolean
        }>`
        SELECT request_id, request_body, response_body, bodies_truncated FROM request_log ORDER BY request_id`
        expect(stored[0]).toEqual({
          request_id: "body-0",
          request_body: '{"model":"m","api_key":"[redacted]","messages":[{"role":"user","content":"hi \uFFFD"}]}',
          response_body: '{"id":"r","choices":[]}',
          bodies_truncated: false,
        })
        expect(stored[1]).toMatchObject({ request_id: "body-1", response_body: "ok", bodies_truncated: true })
        expect(Buffer.byteLength(stored[1]!.request_body!)).toBeLessThanOrEqual(32 * 1024)
        expect(stored[2]).toEqual({
          request_id: "req-2",
          request_body: null,
          response_body: null,
          bodies_truncated: false,
        })

        // Bodies of 64 Ki characters a row: the buffer holds BODY_CHARS of them, the next row comes without.
        const big = "a".repeat(32 * 1024)
        const fitting = BODY_CHARS / (2 * big.length)
        for (let i = 0; i < fitting + 3; i++) writer.record(withBodies(100 + i, big, big))
        expect(writer.stats()).toMatchObject({ buffered: fitting + 3, bodiesDropped: 3 })
        yield* writer.flush
        const [counts] = yield* sql<{ kept: number; without: number }>`
        SELECT count(*) FILTER (WHERE request_body IS NOT NULL)::int AS kept,
               count(*) FILTER (WHERE request_body IS NULL AND bodies_truncated)::int AS without
        FROM request_log WHERE request_id LIKE 'body-%' AND request_id NOT IN ('body-0', 'body-1')`
        expect(counts).toEqual({ kept: fitting, without: 3 })
        // Written: the budget is free again.
        writer.record(withBodies(9_999, big, big))
        expect(writer.stats().bodiesDropped).toBe(3)
      }).pipe(Effect.scoped, Effect.provide(Env({ REQUEST_LOG_BUFFER_BODY_CHARS: String(BODY_CHARS) }))),
    120_000,
  )

  it.live("REQUEST_LOG=off: nothing is kept or written", () =>
    Effect.gen(function* () {
      const writer = yield* makeWriter
      expect(writer.enabled).toBe(false)
      writer.record(sample(1))
      yield* writer.flush
      expect(writer.stats()).toEqual({ buffered: 0, dropped: 0, written: 0, bodiesDropped: 0 })
      expect(yield* countRows).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(Env({ REQUEST_LOG: "off" }))),
  )

  it.live(
    "rows older than REQUEST_LOG_RETENTION_DAYS (30 by default) are deleted in bounded batches; recent ones stay",
    () =>
      Effect.gen(function* () {
        const writer = yield* makeWriter
        const sql = yield* SqlClient.SqlClient
        const now = Date.now()
        // The writer's own prune runs when it starts, concurrently with this test: these rows are
        // within 30 days of the real clock, so that prune leaves them all; this one runs 2 days on.
        const old = Array.from({ length: 25 }, (_, i) => sample(i, now - 29.5 * 86_400_000 - i * 1_000))
        const recent = Array.from({ length: 5 }, (_, i) => sample(100 + i, now - 27 * 86_400_000))
        for (const record of [...old, ...recent]) writer.record(record)
        yield* writer.flush
        expect(yield* writer.prune(new Date(now + 2 * 86_400_000), 10)).toBe(25)
        const left = yield* sql<{ request_id: string }>`SELECT request_id FROM request_log ORDER BY request_id`
        expect(left.map((r) => r.request_id)).toEqual(recent.map((r) => r.requestId).sort())
      }).pipe(Effect.scoped, Effect.provide(Env())),
  )
})

describe("RequestLogWriter: Postgres unreachable", () => {
  it.live(
    "recording never waits; rows that fit are kept while the database is away and written once it is back; the rest are counted as dropped",
    (context) =>
      Effect.gen(function* () {
        const server = new URL(OUTAGE_DATABASE_URL)
        const port = Number(server.port || 5432)
        if (!(yield* Effect.promise(() => reachable(server.hostname, port)))) {
          console.log(`request log outage: skipped, nothing listens at ${server.host}`)
          return context.skip()
        }
        const storage = yield* Effect.acquireRelease(
          Effect.promise(() => createStorage({ serverUrl: OUTAGE_DATABASE_URL })),
          (s) => Effect.promise(() => s.close()),
        )
        const proxy = yield* Effect.acquireRelease(
          Effect.promise(() => startTcpProxy(server.hostname, port)),
          (p) => Effect.promise(() => p.close()),
        )
        const direct = storage.env.DATABASE_URL!
        const database = Database.withMigrations(Database.layerFrom({ url: Redacted.make(proxy.rewrite(direct)) }))
        // Built into the test's scope: the database and the writer live until the test ends.
        const env = yield* Layer.build(Layer.mergeAll(database, testConfigLayer({ REQUEST_LOG_BUFFER_ROWS: "50" })))
        const writer = yield* Effect.provide(makeWriter, env)
        const stored = Effect.scoped(
          Effect.flatMap(
            Database.connect(Redacted.make(direct), { maxConnections: 1 }),
            (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM request_log`,
          ),
        ).pipe(
          Effect.provide(Reactivity.layer),
          Effect.map((rows) => rows[0]!.n),
        )

        writer.record(sample(0))
        yield* writer.flush
        expect(yield* stored).toBe(1)

        yield* Effect.promise(() => proxy.cut())
        const during = Array.from({ length: 40 }, (_, i) => sample(1 + i))
        const started = performance.now()
        for (const record of during) writer.record(record)
        const recordMs = performance.now() - started
        // A write is tried and refused while the rows wait in memory.
        yield* Effect.sleep(Duration.sum(FLUSH_INTERVAL, "1500 millis"))
        expect(writer.stats()).toMatchObject({ buffered: 40, dropped: 0, written: 1 })
        for (let i = 0; i < 25; i++) writer.record(sample(100 + i))
        expect(writer.stats()).toMatchObject({ buffered: 50, dropped: 15 })

        yield* Effect.promise(() => proxy.restore())
        const deadline = Date.now() + 15_000
        let n = yield* stored
        // The rows are visible to another connection a moment before the writer has the insert's
        // answer and counts them: wait for both.
        while ((n < 51 || writer.stats().written < 51) && Date.now() < deadline) {
          yield* Effect.sleep("200 millis")
          n = yield* stored
        }
        expect(n).toBe(51)
        expect(writer.stats()).toEqual({ buffered: 0, dropped: 15, written: 51, bodiesDropped: 0 })
        console.log(
          `request log outage: 65 rows recorded in ${recordMs.toFixed(2)} ms while the database was away; 50 kept and written after it came back, 15 dropped and counted`,
        )
      }).pipe(Effect.scoped),
    40_000,
  )
})
