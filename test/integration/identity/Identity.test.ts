import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { type Context, Effect, Either, Exit, Layer, Redacted } from "effect"
import { Secrets } from "../../../src/crypto/Secrets.js"
import { ApiKeyAuth } from "../../../src/identity/ApiKeyAuth.js"
import { ApiKeys } from "../../../src/identity/ApiKeys.js"
import { Authenticator } from "../../../src/identity/Authenticator.js"
import { createFirstSuperuser } from "../../../src/identity/Bootstrap.js"
import { LoginSessions } from "../../../src/identity/LoginSessions.js"
import { RateLimit } from "../../../src/identity/RateLimit.js"
import { Users } from "../../../src/identity/Users.js"
import { UserRepository } from "../../../src/storage/UserRepository.js"
import { testConfigLayer } from "../../support/TestConfig.js"
import { TestDatabase } from "../../support/TestDatabase.js"
import { memoryLayer, randomKvPrefix, redisLayer, TestKv } from "../../support/TestKv.js"

const MASTER = "apx-master-integration-0123456789abcdef"

/** One gateway instance's identity services (its own caches), on the storage in context. */
const Services = Layer.mergeAll(
  Users.Default,
  ApiKeys.Default,
  LoginSessions.Default,
  Authenticator.Default,
  RateLimit.Default,
  UserRepository.Default,
).pipe(Layer.provideMerge(ApiKeyAuth.Default), Layer.provideMerge(Secrets.DefaultWithoutDependencies))

const Storage = Layer.mergeAll(TestDatabase, testConfigLayer({ GATEWAY_MASTER_KEY: MASTER }))
const OneInstance = Services.pipe(Layer.provideMerge(TestKv), Layer.provideMerge(Storage))

/** A Kv per instance: separate Redis connections on one prefix, or one shared memory store. */
const kvPair = Effect.gen(function* () {
  const url = process.env.REDIS_URL
  if (url !== undefined && url.trim() !== "") {
    const prefix = randomKvPrefix()
    return [yield* Layer.build(redisLayer(url, prefix)), yield* Layer.build(redisLayer(url, prefix))] as const
  }
  const shared = yield* Layer.build(memoryLayer)
  return [shared, shared] as const
})

/** Two instances sharing one database and one Kv namespace. */
const twoInstances = Effect.gen(function* () {
  const [kvA, kvB] = yield* kvPair
  const a = yield* Layer.build(Services.pipe(Layer.provide(Layer.succeedContext(kvA))))
  const b = yield* Layer.build(Services.pipe(Layer.provide(Layer.succeedContext(kvB))))
  return [a, b] as const
})

const failure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.either(effect), (result) => (Either.isLeft(result) ? result.left : undefined) as any)

/** The client address logins come from (failed logins are throttled per account and address). */
const CLIENT = "192.0.2.1"

const alice = { username: "alice", email: "alice@example.com", password: "correct horse battery" }

const addProvider = (id: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`INSERT INTO providers (provider_id, name, base_url) VALUES (${id}, ${id}, 'http://localhost')`,
  )

describe("logins and tokens", () => {
  it.live("login gives an access token that authenticates, and a refresh token that does not", () =>
    Effect.gen(function* () {
      const users = yield* Users
      const loginSessions = yield* LoginSessions
      const auth = yield* Authenticator
      const user = yield* users.create(alice)
      const { tokens } = yield* loginSessions.login("alice", alice.password, CLIENT)
      const principal = yield* auth.authenticate(Redacted.value(tokens.accessToken))
      expect(principal).toMatchObject({ kind: "jwt", userId: user.id, username: "alice", isSuperuser: false })
      // Type confusion: a refresh token is never an access token, and the reverse.
      expect((yield* failure(auth.authenticate(Redacted.value(tokens.refreshToken)))).status).toBe(401)
      expect((yield* failure(loginSessions.refresh(Redacted.value(tokens.accessToken)))).status).toBe(401)
      // Login by email works too; wrong password and unknown user look the same.
      yield* loginSessions.login("ALICE@example.com", alice.password, CLIENT)
      const wrong = yield* failure(loginSessions.login("alice", "nope-nope", CLIENT))
      const unknown = yield* failure(loginSessions.login("bob", "nope-nope", CLIENT))
      expect([wrong.status, wrong.message]).toEqual([401, "Invalid username or password"])
      expect([unknown.status, unknown.message]).toEqual([401, "Invalid username or password"])
    }).pipe(Effect.provide(OneInstance)),
  )

  it.live("failed logins pause further tries of that account from that address; a success resets the count", () =>
    Effect.gen(function* () {
      const users = yield* Users
      const loginSessions = yield* LoginSessions
      yield* users.create(alice)
      // A success between failures starts the count again.
      for (let i = 0; i < 4; i++) yield* failure(loginSessions.login("alice", "wrong-guess", CLIENT))
      yield* loginSessions.login("alice", alice.password, CLIENT)
      for (let i = 0; i < 5; i++)
        expect((yield* failure(loginSessions.login("alice", "wrong-guess", CLIENT))).status).toBe(401)
      // The sixth try from there is refused before the password is looked at, even the right one,
      // under any name of the account (the count is the account's, not the spelling's).
      const paused = yield* failure(loginSessions.login("ALICE@example.com", alice.password, CLIENT))
      expect(paused._tag).toBe("TooManyLoginAttempts")
      expect(paused.retryAfterMs).toBeGreaterThan(0)
      expect(paused.retryAfterMs).toBeLessThanOrEqual(15 * 60_000)
      // The owner, from elsewhere, is not locked out.
      const { user } = yield* loginSessions.login("alice", alice.password, "198.51.100.7")
      expect(user.username).toBe("alice")
    }).pipe(Effect.provide(OneInstance)),
  )

  it.live("refresh rotates; reusing a spent refresh token ends the whole login", () =>
    Effect.gen(function* () {
      const users = yield* Users
      const loginSessions = yield* LoginSessions
      const auth = yield* Authenticator
      yield* users.create(alice)
      const { tokens: first } = yield* loginSessions.login("alice", alice.password, CLIENT)
      const second = yield* loginSessions.refresh(Redacted.value(first.refreshToken))
      expect(Redacted.value(second.refreshToken)).not.toBe(Redacted.value(first.refreshToken))
      yield* auth.authenticate(Redacted.value(second.accessToken))
      // The first refresh token is spent: presenting it again is a theft signal.
      expect((yield* failure(loginSessions.refresh(Redacted.value(first.refreshToken)))).status).toBe(401)
      // …and every token of that login is now dead, the newest included.
      expect((yield* failure(loginSessions.refresh(Redacted.value(second.refreshToken)))).status).toBe(401)
      expect((yield* failure(auth.authenticate(Redacted.value(second.accessToken)))).status).toBe(401)
      // Another login is unaffected.
      const { tokens: other } = yield* loginSessions.login("alice", alice.password, CLIENT)
      yield* auth.authenticate(Redacted.value(other.accessToken))
    }).pipe(Effect.provide(OneInstance)),
  )

  it.live("logout revokes the refresh token and the access tokens of that login", () =>
    Effect.gen(function* () {
      const users = yield* Users
      const loginSessions = yield* LoginSessions
      const auth = yield* Authenticator
      yield* users.create(alice)
      const { tokens } = yield* loginSessions.login("alice", alice.password, CLIENT)
      yield* loginSessions.logout(Redacted.value(tokens.refreshToken))
      expect((yield* failure(loginSessions.refresh(Redacted.value(tokens.refreshToken)))).status).toBe(401)
      expect((yield* failure(auth.authenticate(Redacted.value(tokens.accessToken)))).status).toBe(401)
      expect((yield* failure(loginSessions.logout("garbage"))).status).toBe(401)
    }).pipe(Effect.provide(OneInstance)),
  )

  it.live("a password change revokes earlier tokens; deactivation stops JWTs with 403", () =>
    Effect.gen(function* () {
      const users = yield* Users
      const loginSessions = yield* LoginSessions
      const auth = yield* Authenticator
      const user = yield* users.create(alice)
      const { tokens } = yield* loginSessions.login("alice", alice.password, CLIENT)
      yield* users.update(user.id, { password: "a brand new password" })
      expect((yield* failure(auth.authenticate(Redacted.value(tokens.accessToken)))).status).toBe(401)
      expect((yield* failure(loginSessions.login("alice", alice.password, CLIENT))).status).toBe(401)
      const { tokens: fresh } = yield* loginSessions.login("alice", "a brand new password", CLIENT)
      yield* auth.authenticate(Redacted.value(fresh.accessToken))
      yield* users.setActive(user.id, false)
      expect((yield* failure(auth.authenticate(Redacted.value(fresh.accessToken)))).status).toBe(403)
      expect((yield* failure(loginSessions.login("alice", "a brand new password", CLIENT))).status).toBe(403)
    }).pipe(Effect.provide(OneInstance)),
  )
})

describe("API keys", () => {
  it.live("the token works, is stored only as a hash and listed only by prefix", () =>
    Effect.gen(function* () {
      const users = yield* Users
      const keys = yield* ApiKeys
      const auth = yield* ApiKeyAuth
      const sql = yield* SqlClient.SqlClient
      const user = yield* users.create(alice)
      const { key, token } = yield* keys.create(user.id, { name: "app", expiry: "never" })
      const raw = Redacted.value(token)
      expect(key.keyPrefix).toBe(raw.slice(0, 12))
      const principal = yield* auth.verify(raw)
      expect(principal).toMatchObject({ kind: "api_key", userId: user.id, apiKeyId: key.id, allowedProviderIds: null })
      const dump = JSON.stringify(yield* sql`SELECT * FROM api_keys`)
      expect(dump).not.toContain(raw)
      expect(JSON.stringify(yield* keys.list(user.id))).not.toContain(raw)
      // Names are unique per user.
      expect((yield* failure(keys.create(user.id, { name: "app", expiry: "week" })))._tag).toBe("ResourceConflict")
    }).pipe(Effect.provide(OneInstance)),
  )

  it.live("missing, unknown, expired, deactivated, deleted keys and inactive owners are refused", () =>
    Effect.gen(function* () {
      const users = yield* Users
      const keys = yield* ApiKeys
      const auth = yield* ApiKeyAuth
      const sql = yield* SqlClient.SqlClient
      const user = yield* users.create(alice)
      expect(yield* failure(auth.verify("apx-unknown-00000000000000000000000000"))).toMatchObject({ status: 401 })
      expect(yield* failure(auth.verify(""))).toMatchObject({ status: 401 })

      const expiring = yield* keys.create(user.id, { name: "expiring", expiry: "week" })
      yield* auth.verify(Redacted.value(expiring.token))
      yield* sql`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = ${expiring.key.id}`
      yield* auth.invalidate
      expect(yield* failure(auth.verify(Redacted.value(expiring.token)))).toMatchObject({
        status: 401,
        message: "API key expired",
      })

      const paused = yield* keys.create(user.id, { name: "paused", expiry: "never" })
      yield* auth.verify(Redacted.value(paused.token))
      yield* keys.update(user.id, paused.key.id, { isActive: false })
      expect(yield* failure(auth.verify(Redacted.value(paused.token)))).toMatchObject({ status: 401 })

      const deleted = yield* keys.create(user.id, { name: "deleted", expiry: "never" })
      yield* auth.verify(Redacted.value(deleted.token))
      yield* keys.remove(user.id, deleted.key.id)
      expect(yield* failure(auth.verify(Redacted.value(deleted.token)))).toMatchObject({ status: 401 })

      const owned = yield* keys.create(user.id, { name: "owned", expiry: "never" })
      yield* auth.verify(Redacted.value(owned.token))
      yield* users.setActive(user.id, false)
      expect(yield* failure(auth.verify(Redacted.value(owned.token)))).toMatchObject({
        status: 403,
        message: "API key owner is inactive",
      })
    }).pipe(Effect.provide(OneInstance)),
  )

  it.live("an allow-list emptied by removal means no provider, never every provider (W9)", () =>
    Effect.gen(function* () {
      const users = yield* Users
      const keys = yield* ApiKeys
      const auth = yield* ApiKeyAuth
      yield* addProvider("openai")
      yield* addProvider("anthropic")
      const user = yield* users.create(alice)
      const { key, token } = yield* keys.create(user.id, {
        name: "restricted",
        expiry: "never",
        allowedProviderIds: [" openai", "anthropic", "openai"],
      })
      expect(key.allowedProviderIds).toEqual(["anthropic", "openai"])
      expect((yield* auth.verify(Redacted.value(token))).allowedProviderIds).toEqual(["anthropic", "openai"])
      yield* keys.removeAllowedProvider(user.id, key.id, "openai")
      const last = yield* keys.removeAllowedProvider(user.id, key.id, "anthropic")
      expect([last.hasProviderRestrictions, last.allowedProviderIds]).toEqual([true, []])
      expect((yield* auth.verify(Redacted.value(token))).allowedProviderIds).toEqual([])
      // Deleting a provider shrinks allow-lists the same way.
      yield* keys.setAllowedProviders(user.id, key.id, ["openai"])
      const sql = yield* SqlClient.SqlClient
      yield* sql`DELETE FROM providers WHERE provider_id = 'openai'`
      yield* auth.invalidate
      expect((yield* auth.verify(Redacted.value(token))).allowedProviderIds).toEqual([])
      // null lifts the restriction explicitly; unknown ids are refused.
      yield* keys.setAllowedProviders(user.id, key.id, null)
      expect((yield* auth.verify(Redacted.value(token))).allowedProviderIds).toBeNull()
      const unknown = yield* failure(keys.setAllowedProviders(user.id, key.id, ["nope"]))
      expect(unknown).toMatchObject({ _tag: "InvalidInput", details: { missing_provider_ids: ["nope"] } })
      // An explicit empty list at creation is "no provider" too.
      const none = yield* keys.create(user.id, { name: "none", expiry: "never", allowedProviderIds: [] })
      expect((yield* auth.verify(Redacted.value(none.token))).allowedProviderIds).toEqual([])
    }).pipe(Effect.provide(OneInstance)),
  )
})

describe("first superuser", () => {
  it.live("of concurrent initialisations exactly one creates the account", () =>
    Effect.gen(function* () {
      const results = yield* Effect.all(
        Array.from({ length: 6 }, (_, i) =>
          createFirstSuperuser({ username: `admin${i}`, email: `admin${i}@example.com` }),
        ),
        { concurrency: "unbounded" },
      )
      expect(results.filter((r) => r !== undefined)).toHaveLength(1)
      const users = yield* Users
      expect(yield* users.count).toBe(1)
      const created = results.find((r) => r !== undefined)!
      const auth = yield* ApiKeyAuth
      expect((yield* auth.verify(Redacted.value(created.apiKey))).isSuperuser).toBe(true)
      expect(yield* createFirstSuperuser({ username: "late", email: "late@example.com" })).toBeUndefined()
    }).pipe(Effect.provide(OneInstance)),
  )
})

describe("across two instances", () => {
  it.live("a key deleted on one instance is refused by the other at once", () =>
    Effect.gen(function* () {
      const [a, b] = yield* twoInstances
      const onA = <X, E, R>(effect: Effect.Effect<X, E, R>) => Effect.provide(effect, a)
      const onB = <X, E, R>(effect: Effect.Effect<X, E, R>) => Effect.provide(effect, b)
      const user = yield* onA(Effect.flatMap(Users, (users) => users.create(alice)))
      const { key, token } = yield* onA(
        Effect.flatMap(ApiKeys, (keys) => keys.create(user.id, { name: "k", expiry: "never" })),
      )
      // B has verified (and cached) the key.
      yield* onB(Effect.flatMap(ApiKeyAuth, (auth) => auth.verify(Redacted.value(token))))
      yield* onA(Effect.flatMap(ApiKeys, (keys) => keys.remove(user.id, key.id)))
      // Pub/sub delivery is asynchronous: give it the time one client round trip takes.
      yield* Effect.sleep("20 millis")
      const result = yield* onB(failure(Effect.flatMap(ApiKeyAuth, (auth) => auth.verify(Redacted.value(token)))))
      expect(result).toMatchObject({ status: 401 })
    }).pipe(Effect.scoped, Effect.provide(Storage)),
  )

  it.live("requests-per-minute is one counter shared by every instance", () =>
    Effect.gen(function* () {
      const [a, b] = yield* twoInstances
      const user = yield* Effect.provide(
        Effect.flatMap(Users, (users) => users.create(alice)),
        a,
      )
      const { token } = yield* Effect.provide(
        Effect.flatMap(ApiKeys, (keys) => keys.create(user.id, { name: "k", expiry: "never", requestsPerMinute: 4 })),
        a,
      )
      const principal = yield* Effect.provide(
        Effect.flatMap(ApiKeyAuth, (auth) => auth.verify(Redacted.value(token))),
        a,
      )
      const check = (ctx: Context.Context<RateLimit>) =>
        Effect.exit(
          Effect.provide(
            Effect.flatMap(RateLimit, (limits) => limits.checkRequest(principal)),
            ctx,
          ),
        )
      const outcomes = [
        yield* check(a),
        yield* check(b),
        yield* check(a),
        yield* check(b),
        yield* check(a),
        yield* check(b),
      ]
      expect(outcomes.map(Exit.isSuccess)).toEqual([true, true, true, true, false, false])
      // Each instance tells where the shared counter stands (the x-ratelimit-* headers).
      expect(outcomes.slice(0, 4).map((o) => (Exit.isSuccess(o) ? o.value?.requests : undefined))).toEqual([
        { limit: 4, remaining: 3 },
        { limit: 4, remaining: 2 },
        { limit: 4, remaining: 1 },
        { limit: 4, remaining: 0 },
      ])
      const limited = outcomes[4]!
      if (Exit.isFailure(limited)) {
        const error = limited.cause._tag === "Fail" ? (limited.cause.error as any) : undefined
        expect(error?._tag).toBe("RateLimited")
        expect(error?.state).toMatchObject({ requests: { limit: 4, remaining: 0 } })
        expect(error?.retryAfterMs).toBeGreaterThan(0)
        expect(error?.retryAfterMs).toBeLessThanOrEqual(60_000)
      }
    }).pipe(Effect.scoped, Effect.provide(Storage)),
  )

  it.live("tokens-per-minute refuses once the minute's tokens are spent", () =>
    Effect.gen(function* () {
      const users = yield* Users
      const keys = yield* ApiKeys
      const auth = yield* ApiKeyAuth
      const limits = yield* RateLimit
      const user = yield* users.create(alice)
      const { token } = yield* keys.create(user.id, { name: "k", expiry: "never", tokensPerMinute: 100 })
      const principal = yield* auth.verify(Redacted.value(token))
      yield* limits.checkRequest(principal)
      yield* limits.recordTokens(principal, 60)
      yield* limits.checkRequest(principal)
      yield* limits.recordTokens(principal, 60)
      expect(yield* failure(limits.checkRequest(principal))).toMatchObject({
        _tag: "RateLimited",
        limit: "tokens_per_minute",
      })
    }).pipe(Effect.provide(OneInstance)),
  )
})
