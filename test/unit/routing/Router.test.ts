import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, TestClock } from "effect"
import type { LogicalModel } from "../../../src/registry/Provider.js"
import { makeKeyPool } from "../../../src/routing/KeyPool.js"
import { Router } from "../../../src/routing/Router.js"
import { Stickiness } from "../../../src/routing/Stickiness.js"
import type { Kv } from "../../../src/storage/Kv.js"
import { TestKv } from "../../support/TestKv.js"
import { makeProvider, makeSnapshot, noLists } from "./fixtures.js"

const run = <A, E>(self: Effect.Effect<A, E, Router | Stickiness | Kv>) =>
  self.pipe(Effect.provide(Layer.mergeAll(Router.Default, Stickiness.Default).pipe(Layer.provideMerge(TestKv))))

const primary = makeProvider("primary", { models: ["m", "other"] })
const backup = makeProvider("backup", { models: ["m"] })
const chat: LogicalModel = {
  id: "chat",
  description: null,
  enabled: true,
  strategy: "balanced",
  policy: {},
  upstreams: [
    { provider: "primary", model: "m", weight: 1, priority: 0 },
    { provider: "backup", model: "m", weight: 1, priority: 1 },
  ],
}
const snapshot = makeSnapshot([primary, backup], [chat])
const input = { snapshot, requestedModel: "chat", modelLists: noLists, allowedProviderIds: null, session: null }
const order = (plan: { attempts: ReadonlyArray<{ candidate: { provider: { id: string } } }> }) =>
  plan.attempts.map((a) => a.candidate.provider.id)

describe("Router", () => {
  it.effect(
    "fails over to the backup tier while the primary's circuit is open, and returns to the primary after it recovers",
    () =>
      run(
        Effect.gen(function* () {
          const router = yield* Router
          const first = yield* router.decide(input)
          expect(order(first.plan)).toEqual(["primary", "backup"])
          const attempt = {
            logicalModel: "chat",
            candidate: first.plan.attempts[0]!.candidate,
            keyId: "primary-k1",
            latencyMs: 50,
          }
          for (let i = 0; i < 3; i++) {
            const r = yield* router.recordFailure(attempt, { _tag: "HttpError", status: 503 })
            expect(r.verdict._tag).toBe("Retryable")
            expect(r.circuitOpen).toBe(i === 2)
          }
          const during = yield* router.decide(input)
          expect(order(during.plan)).toEqual(["backup"])
          expect(during.plan.skipped.map((s) => s.candidate.provider.id)).toEqual(["primary"])

          yield* TestClock.adjust("5 seconds")
          const probe = yield* router.decide(input)
          expect(order(probe.plan)).toEqual(["primary", "backup"])
          expect(probe.plan.attempts[0]!.reason).toBe("half_open_probe")
          expect(yield* router.acquire(probe.plan.attempts[0]!.candidate)).toBe(true)
          // A concurrent request sees the probe taken and goes to the backup.
          expect(order((yield* router.decide(input)).plan)).toEqual(["backup"])
          expect(yield* router.acquire(probe.plan.attempts[0]!.candidate)).toBe(false)

          yield* router.recordSuccess({ ...attempt, latencyMs: 40 }, null)
          yield* router.settled
          const after = yield* router.decide(input)
          expect(order(after.plan)).toEqual(["primary", "backup"])
          expect(after.plan.attempts[0]!.circuit).toBe("closed")
        }),
      ),
  )

  it.effect("client-caused 4xx never penalise the provider", () =>
    run(
      Effect.gen(function* () {
        const router = yield* Router
        const d = yield* router.decide(input)
        const attempt = {
          logicalModel: "chat",
          candidate: d.plan.attempts[0]!.candidate,
          keyId: "primary-k1",
          latencyMs: 5,
        }
        for (let i = 0; i < 20; i++) {
          const r = yield* router.recordFailure(attempt, {
            _tag: "HttpError",
            status: 400,
            message: "messages: field required",
          })
          expect(r.verdict._tag).toBe("Fatal")
        }
        const again = yield* router.decide(input)
        expect(order(again.plan)).toEqual(["primary", "backup"])
        expect(again.plan.attempts[0]!.score.score).toBeCloseTo(d.plan.attempts[0]!.score.score, 10)
        expect(again.plan.attempts[0]!.score.confidence).toBe(0)
      }),
    ),
  )

  it.effect("binds the session on success only, for its logical model only; decide never writes", () =>
    run(
      Effect.gen(function* () {
        const router = yield* Router
        const sessions = yield* Stickiness
        const session = { owner: "key:1", id: "conv-9" }
        const discovery = { ...input, requestedModel: "m", session }
        const d = yield* router.decide(discovery)
        expect(d.plan.sticky).toBe("none")
        expect((yield* sessions.get("key:1", "conv-9"))._tag).toBe("None")

        const b = d.plan.attempts.find((a) => a.candidate.provider.id === "backup")!.candidate
        yield* router.recordFailure(
          { logicalModel: "m", candidate: b, keyId: undefined, latencyMs: 5 },
          { _tag: "HttpError", status: 400 },
        )
        expect((yield* sessions.get("key:1", "conv-9"))._tag).toBe("None")
        yield* router.recordSuccess({ logicalModel: "m", candidate: b, keyId: undefined, latencyMs: 5 }, session)

        for (let i = 0; i < 20; i++) {
          const next = yield* router.decide(discovery)
          expect(next.plan.sticky).toBe("applied")
          expect(order(next.plan)[0]).toBe("backup")
        }
        // Another logical model ignores the binding.
        expect((yield* router.decide({ ...input, session })).plan.sticky).toBe("none")
      }),
    ),
  )

  it.effect(
    "circuits are per upstream: a 503 burst on one model leaves the fallback model on the same provider closed",
    () =>
      run(
        Effect.gen(function* () {
          const router = yield* Router
          const shared = makeProvider("shared", { models: ["big", "small"] })
          const fallback: LogicalModel = {
            ...chat,
            id: "fb",
            upstreams: [
              { provider: "shared", model: "big", weight: 1, priority: 0 },
              { provider: "shared", model: "small", weight: 1, priority: 1 },
            ],
          }
          const one = { ...input, snapshot: makeSnapshot([shared], [fallback]), requestedModel: "fb" }
          const big = (yield* router.decide(one)).plan.attempts[0]!.candidate
          expect(big.model).toBe("big")
          for (let i = 0; i < 3; i++)
            yield* router.recordFailure(
              { logicalModel: "fb", candidate: big, keyId: "shared-k1", latencyMs: 5 },
              { _tag: "HttpError", status: 503 },
            )
          const after = (yield* router.decide(one)).plan
          expect(after.attempts.map((a) => a.candidate.model)).toEqual(["small"])
          expect(after.attempts[0]!.circuit).toBe("closed")
          expect(after.skipped.map((s) => s.candidate.model)).toEqual(["big"])
          // The other model is still routable on its own.
          const small = (yield* router.decide({ ...one, requestedModel: "shared/small" })).plan
          expect(small.attempts[0]!.circuit).toBe("closed")
        }),
      ),
  )

  it.effect(
    "one request's retries count once; the provider's circuit opens only on connection failures of several requests",
    () =>
      run(
        Effect.gen(function* () {
          const router = yield* Router
          const attempt = {
            logicalModel: "chat",
            candidate: (yield* router.decide(input)).plan.attempts[0]!.candidate,
            keyId: "primary-k1",
            latencyMs: 5,
          }
          // One request, three 503s: one failure for the breaker.
          const counted = new Set<string>()
          for (let i = 0; i < 3; i++)
            expect(
              (yield* router.recordFailure(attempt, { _tag: "HttpError", status: 503 }, counted)).circuitOpen,
            ).toBe(false)
          expect((yield* router.decide(input)).plan.attempts[0]!.circuit).toBe("closed")
          // Connection refused, from three distinct requests: the provider's circuit opens (for every model of it).
          const refused = { _tag: "TransportError", kind: "connect", beforeResponse: true } as const
          for (let i = 0; i < 3; i++) {
            const r = yield* router.recordFailure(attempt, refused, new Set())
            expect(r.circuitOpen).toBe(i === 2)
          }
          const plan = (yield* router.decide(input)).plan
          expect(order(plan)).toEqual(["backup"])
          const discovery = (yield* router.decide({ ...input, requestedModel: "primary/other" })).plan
          expect(discovery.attempts[0]!.reason).toBe("panic")
        }),
      ),
  )

  it.effect("a 429 backs the key off for that model only", () =>
    run(
      Effect.gen(function* () {
        const router = yield* Router
        const keys = yield* makeKeyPool()
        const candidate = (yield* router.decide(input)).plan.attempts[0]!.candidate
        yield* router.recordFailure(
          { logicalModel: "chat", candidate, keyId: "primary-k1", latencyMs: 5 },
          { _tag: "HttpError", status: 429, retryAfterMs: 5000 },
        )
        const same = yield* Effect.either(keys.pick(primary, [], "m"))
        expect(Either.isLeft(same) && same.left.reason).toBe("all_in_backoff")
        expect((yield* keys.pick(primary, [], "other-model")).id).toBe("primary-k1")
        // In panic mode the provider's Retry-After still holds, and says how long is left.
        const panic = yield* Effect.either(keys.pick(primary, [], "m", true))
        expect(Either.isLeft(panic) && panic.left.reason).toBe("retry_after")
        expect(Either.isLeft(panic) && panic.left.retryAfterMs).toBe(5000)
        // A backoff the gateway chose itself (429 without Retry-After) gives way in panic mode.
        yield* router.recordFailure(
          { logicalModel: "chat", candidate, keyId: "primary-k1", latencyMs: 5 },
          { _tag: "HttpError", status: 429 },
          new Set(),
        )
        yield* TestClock.adjust("5 seconds")
        expect(Either.isLeft(yield* Effect.either(keys.pick(primary, [], "m")))).toBe(false)
      }),
    ),
  )

  it.effect("resolution and allow-list errors are typed", () =>
    run(
      Effect.gen(function* () {
        const router = yield* Router
        const missing = yield* Effect.either(router.decide({ ...input, requestedModel: "nope" }))
        expect(Either.isLeft(missing) && missing.left._tag).toBe("ModelNotFound")
        const denied = yield* Effect.either(router.decide({ ...input, allowedProviderIds: [] }))
        expect(Either.isLeft(denied) && denied.left._tag).toBe("ProviderNotAllowed")
      }),
    ),
  )
})
