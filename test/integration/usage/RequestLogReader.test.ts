import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import {
  addAttempt,
  addUsage,
  closeRecord,
  newRequestRecord,
  type RequestRecord,
  setCaller,
  setError,
  setServed,
} from "../../../src/shared/RequestRecord.js"
import type { RequestLogFilter } from "../../../src/storage/RequestLogRepository.js"
import { decodeCursor } from "../../../src/usage/RequestLogCursor.js"
import { type RequestLogPage, RequestLogReader } from "../../../src/usage/RequestLogReader.js"
import { RequestLogWriter } from "../../../src/usage/RequestLogWriter.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { TestDatabase } from "../../support/TestDatabase.js"

/**
 * Reading the request log a page at a time, against the real database of the run (PGlite, or
 * Postgres with DATABASE_URL): every filter, newest first, a cursor walk that returns each row
 * once (rows of the same millisecond included), and rows still in the writer's buffer visible.
 */

const ALICE = "00000000-0000-4000-8000-00000000a11c"
const ALICE_KEY = "00000000-0000-4000-8000-0000000a11c1"
const BOB = "00000000-0000-4000-8000-000000000b0b"
const BOB_KEY = "00000000-0000-4000-8000-0000000b0b01"
const T0 = Date.parse("2025-06-01T10:00:00.000Z")

interface Sample {
  readonly n: number
  readonly at: number
  readonly user?: "alice" | "bob" | "master"
  readonly status?: number
  readonly requested?: string
  readonly served?: readonly [string, string] | null
  readonly errorClass?: string
}

const sample = ({
  n,
  at,
  user = "alice",
  status = 200,
  requested = "fast",
  served = ["primary", "gpt-4o-mini"],
  errorClass,
}: Sample): RequestRecord => {
  const record = newRequestRecord(randomUUID(), `rq-${n}`, "openai-chat", "/v1/chat/completions", at)
  setCaller(
    record,
    user === "master"
      ? { userId: null, apiKeyId: null }
      : user === "alice"
        ? { userId: ALICE, apiKeyId: ALICE_KEY }
        : { userId: BOB, apiKeyId: BOB_KEY },
  )
  record.requestedModel = requested
  if (served !== null) {
    addAttempt(record, served[0], served[1], "ok", 200, 5)
    setServed(record, served[0], served[1])
    addUsage(record, { inputTokens: 10, outputTokens: 20 })
    record.costNanoUsd = 1_500 + n
    record.complete = true
  }
  if (errorClass !== undefined) setError(record, errorClass, `failed: ${errorClass}`)
  closeRecord(record, status, at + 30)
  return record
}

const makeReader = Effect.map(
  Layer.build(RequestLogReader.Default.pipe(Layer.provideMerge(RequestLogWriter.Default))),
  (context) => ({
    reader: Context.get(context, RequestLogReader),
    writer: Context.get(context, RequestLogWriter),
  }),
)

const Env = Layer.mergeAll(TestDatabase, testConfigLayer())

describe("RequestLogReader", () => {
  it.live(
    "filters: time range, user, key, model asked or served, provider, status or its class, error class; newest first",
    () =>
      Effect.gen(function* () {
        const { reader, writer } = yield* makeReader
        const rows = [
          sample({ n: 1, at: T0 }),
          sample({ n: 2, at: T0 + 1_000, user: "bob", served: ["backup", "gpt-4.1-mini"] }),
          sample({
            n: 3,
            at: T0 + 2_000,
            status: 404,
            requested: "no-such-model",
            served: null,
            errorClass: "ModelNotFound",
          }),
          sample({ n: 4, at: T0 + 3_000, user: "master", status: 502, served: null, errorClass: "AllUpstreamsFailed" }),
          sample({ n: 5, at: T0 + 4_000, status: 429, served: null, errorClass: "RateLimited" }),
          sample({ n: 6, at: T0 + 5_000, requested: "gpt-4o-mini" }),
        ]
        // Not flushed: the reader writes what is buffered before it reads.
        for (const record of rows) writer.record(record)
        const ids = (filter: Omit<RequestLogFilter, "limit">) =>
          reader.page({ limit: 100, ...filter }).pipe(Effect.map((page) => page.rows.map((row) => row.request_id)))

        expect(yield* ids({})).toEqual(["rq-6", "rq-5", "rq-4", "rq-3", "rq-2", "rq-1"])
        expect(yield* ids({ from: new Date(T0 + 1_000), to: new Date(T0 + 3_000) })).toEqual(["rq-3", "rq-2"])
        expect(yield* ids({ userId: BOB })).toEqual(["rq-2"])
        expect(yield* ids({ apiKeyId: ALICE_KEY })).toEqual(["rq-6", "rq-5", "rq-3", "rq-1"])
        expect(yield* ids({ userId: ALICE, apiKeyId: BOB_KEY })).toEqual([])
        // Asked for, or served by: `fast` served by gpt-4o-mini, and gpt-4o-mini asked for by name.
        expect(yield* ids({ model: "gpt-4o-mini" })).toEqual(["rq-6", "rq-1"])
        expect(yield* ids({ model: "fast" })).toEqual(["rq-5", "rq-4", "rq-2", "rq-1"])
        expect(yield* ids({ provider: "backup" })).toEqual(["rq-2"])
        expect(yield* ids({ status: { min: 429, max: 429 } })).toEqual(["rq-5"])
        expect(yield* ids({ status: { min: 400, max: 499 } })).toEqual(["rq-5", "rq-3"])
        expect(yield* ids({ status: { min: 500, max: 599 } })).toEqual(["rq-4"])
        expect(yield* ids({ errorClass: "ModelNotFound" })).toEqual(["rq-3"])
        expect(yield* ids({ userId: ALICE, status: { min: 200, max: 299 }, model: "gpt-4o-mini" })).toEqual([
          "rq-6",
          "rq-1",
        ])
        // A value that is no row's matches nothing (and is only ever a parameter).
        expect(yield* ids({ model: "x' OR '1'='1" })).toEqual([])

        const [row] = (yield* reader.page({ limit: 1, errorClass: "ModelNotFound" })).rows
        expect(row).toMatchObject({
          request_id: "rq-3",
          user_id: ALICE,
          api_key_id: ALICE_KEY,
          requested_model: "no-such-model",
          provider: null,
          attempts: [],
          status: 404,
          cost_nanousd: null,
          error_message: "failed: ModelNotFound",
          request_body: null,
          response_body: null,
          bodies_truncated: false,
        })
        expect(row!.started_at.toISOString()).toBe("2025-06-01T10:00:02.000Z")
        expect(row!.started_at_us).toBe("2025-06-01T10:00:02.000000Z")
        const [served] = (yield* reader.page({ limit: 1, model: "gpt-4o-mini" })).rows
        expect(served).toMatchObject({
          input_tokens: 10,
          output_tokens: 20,
          cost_nanousd: "1506",
          attempts: [{ provider: "primary", model: "gpt-4o-mini", outcome: "ok", status: 200, ms: 5 }],
        })
      }).pipe(Effect.scoped, Effect.provide(Env)),
    30_000,
  )

  it.live(
    "a cursor walk returns every row exactly once, in order, rows of the same millisecond included; the last page has no cursor",
    () =>
      Effect.gen(function* () {
        const { reader, writer } = yield* makeReader
        // 250 rows over 50 milliseconds: five per millisecond, told apart by their id.
        const rows = Array.from({ length: 250 }, (_, i) => sample({ n: i, at: T0 + Math.floor(i / 5) }))
        for (const record of rows) writer.record(record)
        const seen: Array<string> = []
        const sizes: Array<number> = []
        let cursor: string | null = null
        do {
          const page: RequestLogPage = yield* reader.page({
            limit: 100,
            before: cursor === null ? undefined : decodeCursor(cursor),
          })
          sizes.push(page.rows.length)
          seen.push(...page.rows.map((row) => row.id))
          cursor = page.nextCursor
        } while (cursor !== null)
        expect(sizes).toEqual([100, 100, 50])
        expect(new Set(seen).size).toBe(250)
        const expected = [...rows].sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : -1)).map((r) => r.id)
        expect(seen).toEqual(expected)

        // Exactly a page's worth: no cursor to an empty page.
        const exact = yield* reader.page({ limit: 250 })
        expect(exact.rows).toHaveLength(250)
        expect(exact.nextCursor).toBeNull()
        // A filter walks the same way.
        const first = yield* reader.page({ limit: 3, to: new Date(T0 + 2) })
        expect(first.rows.map((r) => r.started_at.getTime())).toEqual([T0 + 1, T0 + 1, T0 + 1])
        const second = yield* reader.page({ limit: 3, to: new Date(T0 + 2), before: decodeCursor(first.nextCursor!) })
        const third = yield* reader.page({ limit: 10, to: new Date(T0 + 2), before: decodeCursor(second.nextCursor!) })
        expect([...first.rows, ...second.rows, ...third.rows].map((r) => r.request_id).sort()).toEqual(
          rows
            .slice(0, 10)
            .map((r) => r.requestId)
            .sort(),
        )
        expect(third.nextCursor).toBeNull()
      }).pipe(Effect.scoped, Effect.provide(Env)),
    30_000,
  )
})
