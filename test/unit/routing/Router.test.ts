import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, TestClock } from "effect"
import type { LogicalModel } from "../../../src/registry/Provider.js"
import { Router } from "../../../src/routing/Router.js"
import { Stickiness } from "../../../src/routing/Stickiness.js"
import type { Kv } from "../../../src/storage/Kv.js"
import { TestKv } from "../../support/TestKv.js"
import { makeProvider, makeSnapshot, noLists } from "./fixtures.js"

const run = <A, E>(self: Effect.Effect<A, E, Router | Stickiness | Kv>) =>
  self.pipe(Effect.provide(Layer.mergeAll(Router.Default, Stickiness.Default).pipe(Layer.provideMerge(TestKv))))

const primary = makeProvider("primary", { models: ["m"] })
const backup = makeProvider("backup", { models: ["m"] })
const chat: LogicalModel = {
  id: "chat",
  description: null,
  enabled: true,
  strategy: "balanced",
  upstreams: [
    { provider: "primary", model: "m", weight: 1, priority: 0 },
    { provider: "backup", model: "m", weight: 1, priority: 1 },
  ],
}
const snapshot = makeSnapshot([primary, backup], [chat])
const input = { snapshot, requestedModel: "chat", modelLists: noLists, allowedProviderIds: null, session: null }
const order = (plan: { attempts: ReadonlyArray<{ candidate: { provider: { id: string } } }> }) => plan.attempts.map((a) => a.candidate.provider.id)

describe("Router", () => {
  it.effect("fails over to the backup tier while the primary's circuit is open, and returns to the primary after it recovers", () =>
    run(
      Effect.gen(function* () {
        const router = yield* Router
        const first = yield* router.decide(input)
        expect(order(first.plan)).toEqual(["primary", "backup"])
        const attempt = { logicalModel: "chat", candidate: first.plan.attempts[0]!.candidate, keyId: "primary-k1", latencyMs: 50 }
        for (let i = 0; i < 3; i++) {
          const v = yield* router.recordFailure(attempt, { _tag: "HttpError", status: 503 })
          expect(v._tag).toBe("Retryable")
        }
        const during = yield* router.decide(input)
        expect(order(during.plan)).toEqual(["backup"])
        expect(during.plan.skipped.map((s) => s.candidate.provider.id)).toEqual(["primary"])

        yield* TestClock.adjust("30 seconds")
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
    ))

  it.effect("client-caused 4xx never penalise the provider", () =>
    run(
      Effect.gen(function* () {
        const router = yield* Router
        const d = yield* router.decide(input)
        const attempt = { logicalModel: "chat", candidate: d.plan.attempts[0]!.candidate, keyId: "primary-k1", latencyMs: 5 }
        for (let i = 0; i < 20; i++) {
          const v = yield* router.recordFailure(attempt, { _tag: "HttpError", status: 400, message: "messages: field required" })
          expect(v._tag).toBe("Fatal")
        }
        const again = yield* router.decide(input)
        expect(order(again.plan)).toEqual(["primary", "backup"])
        expect(again.plan.attempts[0]!.score.score).toBeCloseTo(d.plan.attempts[0]!.score.score, 10)
        expect(again.plan.attempts[0]!.score.confidence).toBe(0)
      }),
    ))

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
        yield* router.recordFailure({ logicalModel: "m", candidate: b, keyId: undefined, latencyMs: 5 }, { _tag: "HttpError", status: 400 })
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
    ))

  it.effect("resolution and allow-list errors are typed", () =>
    run(
      Effect.gen(function* () {
        const router = yield* Router
        const missing = yield* Effect.either(router.decide({ ...input, requestedModel: "nope" }))
        expect(Either.isLeft(missing) && missing.left._tag).toBe("ModelNotFound")
        const denied = yield* Effect.either(router.decide({ ...input, allowedProviderIds: [] }))
        expect(Either.isLeft(denied) && denied.left._tag).toBe("ProviderNotAllowed")
      }),
    ))
})
