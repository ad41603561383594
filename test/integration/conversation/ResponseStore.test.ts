import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { ResponseStore } from "../../../src/conversation/ResponseStore.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { TestDatabase } from "../../support/TestDatabase.js"

/** Stored Responses against the real database of the run (PGlite, or Postgres with DATABASE_URL). */

/** A store living in the current scope (its hourly sweep too). */
const makeStore = Effect.map(Layer.build(ResponseStore.Default), Context.get(ResponseStore))

const own = (
  id: string,
  owner: string,
  inputItems = '[{"id":"msg_1","type":"message","role":"user","content":"hi"}]',
) => ({
  id,
  owner,
  model: "claude-haiku-4-5",
  response: JSON.stringify({ id, object: "response", output: [] }),
  inputItems,
})

const withEnv = (env: Record<string, string>) => Layer.mergeAll(TestDatabase, testConfigLayer(env))

describe("ResponseStore", () => {
  it.live(
    "keeps the gateway's own responses and native records per owner: another owner's id reads as absent and is not deleted",
    () =>
      Effect.gen(function* () {
        const store = yield* makeStore
        expect(yield* store.saveOwn(own("resp_a", "user:1"))).toBe("stored")
        yield* store.saveNative({
          id: "resp_n",
          owner: "user:1",
          provider: "openai",
          providerKeyId: "key-1",
          model: "gpt-4o-mini",
        })

        const row = yield* store.find("user:1", "resp_a")
        expect(row).toMatchObject({ id: "resp_a", owner: "user:1", provider: null, model: "claude-haiku-4-5" })
        expect(JSON.parse(row!.inputItems!)[0].content).toBe("hi")
        expect(row!.expiresAt).not.toBeNull()
        expect(yield* store.find("user:1", "resp_n")).toMatchObject({
          provider: "openai",
          providerKeyId: "key-1",
          response: null,
        })

        // Another owner: unknown, and neither readable, deletable nor overwritable.
        expect(yield* store.find("user:2", "resp_a")).toBeUndefined()
        expect(yield* store.remove("user:2", "resp_a")).toBe(false)
        expect(yield* store.saveOwn(own("resp_a", "user:2"))).toBe("taken")
        expect((yield* store.find("user:1", "resp_a"))?.owner).toBe("user:1")

        expect(yield* store.remove("user:1", "resp_a")).toBe(true)
        expect(yield* store.find("user:1", "resp_a")).toBeUndefined()
        expect(yield* store.remove("user:1", "resp_a")).toBe(false)
      }).pipe(Effect.scoped, Effect.provide(withEnv({}))),
  )

  it.live("a response over RESPONSES_MAX_BYTES is not stored", () =>
    Effect.gen(function* () {
      const store = yield* makeStore
      expect(store.maxBytes).toBe(2048)
      const big = JSON.stringify([{ type: "message", role: "user", content: "x".repeat(2048) }])
      expect(yield* store.saveOwn(own("resp_big", "user:1", big))).toBe("too_large")
      expect(yield* store.find("user:1", "resp_big")).toBeUndefined()
      expect(yield* store.saveOwn(own("resp_small", "user:1"))).toBe("stored")
    }).pipe(Effect.scoped, Effect.provide(withEnv({ RESPONSES_MAX_BYTES: "2048" }))),
  )

  it.live("a response expires RESPONSES_RETENTION_DAYS (30) after it was stored", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* makeStore
      yield* store.saveOwn(own("resp_new", "user:1"))
      const [row] = yield* sql<{ days: number }>`
        SELECT round(extract(epoch FROM expires_at - created_at) / 86400)::int AS days FROM responses WHERE id = 'resp_new'`
      expect(row!.days).toBe(30)
    }).pipe(Effect.scoped, Effect.provide(withEnv({}))),
  )

  // With retention off there is no background sweep racing the test; expiry is set by hand.
  it.live("an expired response is never served, even before the sweep deletes it", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* makeStore
      yield* store.saveOwn(own("resp_old", "user:1"))
      yield* store.saveOwn(own("resp_new", "user:1"))
      yield* sql`UPDATE responses SET expires_at = now() - interval '1 second' WHERE id = 'resp_old'`
      expect(yield* store.find("user:1", "resp_old")).toBeUndefined()
      expect(yield* store.remove("user:1", "resp_old")).toBe(false)
      expect((yield* sql<{ id: string }>`SELECT id FROM responses ORDER BY id`).map((r) => r.id)).toEqual([
        "resp_new",
        "resp_old",
      ])
      expect(yield* store.sweep).toBe(1)
      expect((yield* sql<{ id: string }>`SELECT id FROM responses ORDER BY id`).map((r) => r.id)).toEqual(["resp_new"])
    }).pipe(Effect.scoped, Effect.provide(withEnv({ RESPONSES_RETENTION_DAYS: "0" }))),
  )

  it.live("RESPONSES_RETENTION_DAYS=0 keeps responses forever", () =>
    Effect.gen(function* () {
      const store = yield* makeStore
      yield* store.saveOwn(own("resp_forever", "user:1"))
      expect((yield* store.find("user:1", "resp_forever"))?.expiresAt).toBeNull()
      expect(yield* store.sweep).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(withEnv({ RESPONSES_RETENTION_DAYS: "0" }))),
  )
})
