import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, FastCheck as fc, TestClock } from "effect"
import type { ClassifiedFailure, Verdict } from "../../../src/routing/RetryPolicy.js"
import {
  classify,
  defaultRetryConfig,
  isPenalisable,
  retriesSameCandidate,
  retryAndFailover,
} from "../../../src/routing/RetryPolicy.js"

/**
 * The gateway's retry and failover program (`retryAndFailover`, the code production runs after a
 * request's first failure) driven with scripted attempt outcomes on the test clock.
 */

interface Failure extends ClassifiedFailure {
  readonly candidate: number
}

type Outcome = { readonly ok: true } | { readonly ok: false; readonly verdict: Verdict; readonly circuitOpen: boolean }

const verdictArb: fc.Arbitrary<Verdict> = fc.oneof(
  fc.record({
    _tag: fc.constant("Retryable" as const),
    reason: fc.constantFrom("server_error" as const, "rate_limited" as const, "transport" as const, "timeout" as const),
    retryAfterMs: fc.option(fc.integer({ min: 0, max: 15_000 }), { nil: undefined }),
  }),
  fc.record({
    _tag: fc.constant("FailoverNow" as const),
    reason: fc.constantFrom("model_not_found" as const, "context_length_exceeded" as const),
  }),
  fc.record({
    _tag: fc.constant("Fatal" as const),
    reason: fc.constant("content_policy" as const),
    status: fc.constant(400),
    penalise: fc.constant(false),
  }),
)

const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ ok: true } as const) },
  {
    weight: 5,
    arbitrary: fc.record({
      ok: fc.constant(false as const),
      verdict: verdictArb,
      circuitOpen: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    }),
  },
)

const scenarioArb = fc.record({
  candidates: fc.integer({ min: 1, max: 4 }),
  outcomes: fc.array(outcomeArb, { minLength: 1, maxLength: 20 }),
  deadlineMs: fc.integer({ min: 500, max: 60_000 }),
})

interface Call {
  readonly at: number
  readonly candidate: number
  readonly outcome: Outcome
}

/** Runs the program over the scripted outcomes (then successes); returns every call and the exit. */
const drive = (sc: { candidates: number; outcomes: ReadonlyArray<Outcome>; deadlineMs: number }) =>
  Effect.gen(function* () {
    const start = yield* TestClock.currentTimeMillis
    const calls: Array<Call> = []
    const attempt = (candidate: number) =>
      Effect.flatMap(TestClock.currentTimeMillis, (at) => {
        const outcome = sc.outcomes[calls.length] ?? ({ ok: true } as const)
        calls.push({ at, candidate, outcome })
        return outcome.ok
          ? Effect.succeed(candidate)
          : Effect.fail<Failure>({
              verdict: outcome.verdict,
              attempts: calls.length,
              circuitOpen: outcome.circuitOpen,
              candidate,
            })
      })
    const fiber = yield* Effect.fork(
      retryAndFailover(sc.candidates, attempt, defaultRetryConfig, start + sc.deadlineMs),
    )
    yield* TestClock.adjust("10 minutes")
    const exit = yield* Fiber.join(fiber).pipe(Effect.exit)
    return { start, calls, exit }
  })

describe("retry and failover program (RetryPolicy schedules)", () => {
  it.effect.prop(
    "walks candidates in order, retries only what may be retried, within the caps, the deadline and Retry-After",
    [scenarioArb],
    ([sc]) =>
      Effect.gen(function* () {
        const { start, calls, exit } = yield* drive(sc)
        const cfg = defaultRetryConfig
        expect(calls.length).toBeGreaterThan(0)
        expect(calls[0]!.candidate).toBe(0)
        expect(calls.length).toBeLessThanOrEqual(cfg.maxAttempts)
        const perCandidate = new Map<number, number>()
        for (let i = 0; i < calls.length; i++) {
          const call = calls[i]!
          perCandidate.set(call.candidate, (perCandidate.get(call.candidate) ?? 0) + 1)
          expect(perCandidate.get(call.candidate)!).toBeLessThanOrEqual(cfg.maxRetries + 1)
          expect(call.candidate).toBeLessThan(sc.candidates)
          if (i === 0) continue
          const prev = calls[i - 1]!
          if (prev.outcome.ok) throw new Error("a call after a success")
          const failure = { verdict: prev.outcome.verdict, attempts: i, circuitOpen: prev.outcome.circuitOpen }
          // Never a call after a Fatal; never back to an earlier candidate.
          expect(prev.outcome.verdict._tag).not.toBe("Fatal")
          expect(call.candidate).toBeGreaterThanOrEqual(prev.candidate)
          // Every call starts before the deadline.
          expect(call.at).toBeLessThan(start + sc.deadlineMs)
          if (call.candidate === prev.candidate) {
            // A retry: only for what is retried on the same candidate, after at least Retry-After
            // and the jittered backoff (0.8 × base × factor^(n−1), capped).
            expect(retriesSameCandidate(failure)).toBe(true)
            const n = perCandidate.get(call.candidate)! - 1
            const backoff = Math.min(cfg.maxDelayMs, cfg.baseDelayMs * cfg.factor ** (n - 1))
            const retryAfter = prev.outcome.verdict._tag === "Retryable" ? (prev.outcome.verdict.retryAfterMs ?? 0) : 0
            expect(retryAfter).toBeLessThanOrEqual(cfg.maxRetryAfterMs)
            expect(call.at - prev.at).toBeGreaterThanOrEqual(Math.max(retryAfter, Math.floor(backoff * 0.8)))
            expect(call.at - prev.at).toBeLessThanOrEqual(Math.max(retryAfter, Math.ceil(backoff * 1.2)))
          } else {
            // Failing over: at once, to the very next candidate.
            expect(call.candidate).toBe(prev.candidate + 1)
            expect(call.at).toBe(prev.at)
          }
        }
        const last = calls.at(-1)!
        if (last.outcome.ok) {
          expect(Exit.isSuccess(exit)).toBe(true)
        } else {
          // Given up: with the last failure, for a reason the schedules know.
          expect(Exit.isFailure(exit)).toBe(true)
          const verdict = last.outcome.verdict
          const sameAgain =
            retriesSameCandidate({ verdict, attempts: calls.length, circuitOpen: last.outcome.circuitOpen }) &&
            (perCandidate.get(last.candidate) ?? 0) <= cfg.maxRetries &&
            (verdict._tag !== "Retryable" || (verdict.retryAfterMs ?? 0) <= cfg.maxRetryAfterMs)
          const nextOne = verdict._tag !== "Fatal" && last.candidate + 1 < sc.candidates
          if (
            calls.length < cfg.maxAttempts &&
            last.at + Math.max(cfg.maxDelayMs * 1.2, cfg.maxRetryAfterMs) < start + sc.deadlineMs
          ) {
            expect(sameAgain || nextOne).toBe(false)
          }
        }
      }),
  )

  it.effect("waits whole milliseconds, so a Retry-After after a jittered backoff is waited exactly", () =>
    Effect.gen(function* () {
      // fast-check's counterexample (seed 776657545): the jittered first wait was fractional, and
      // the Retry-After wait after it measured 1835.0000000000002 ms on the clock.
      const { calls } = yield* drive({
        candidates: 1,
        outcomes: [
          {
            ok: false,
            verdict: { _tag: "Retryable", reason: "server_error", retryAfterMs: undefined },
            circuitOpen: false,
          },
          { ok: false, verdict: { _tag: "Retryable", reason: "server_error", retryAfterMs: 1835 }, circuitOpen: false },
        ],
        deadlineMs: 14_250,
      })
      expect(calls).toHaveLength(3)
      for (const call of calls) expect(Number.isInteger(call.at)).toBe(true)
      expect(calls[2]!.at - calls[1]!.at).toBe(1835)
    }),
  )

  it.effect("the healthy first candidate is asked once", () =>
    Effect.gen(function* () {
      const { calls, exit } = yield* drive({ candidates: 3, outcomes: [{ ok: true }], deadlineMs: 10_000 })
      expect(calls).toHaveLength(1)
      expect(Exit.isSuccess(exit)).toBe(true)
    }),
  )
})

describe("classification", () => {
  it.prop(
    "4xx other than 408/429 are never retried on the same candidate nor penalised (default rule)",
    [fc.integer({ min: 400, max: 499 }).filter((s) => s !== 408 && s !== 429), fc.string()],
    ([status, message]) => {
      const v = classify({ _tag: "HttpError", status, message })
      expect(v._tag).not.toBe("Retryable")
      expect(isPenalisable(v)).toBe(false)
      expect(retriesSameCandidate({ verdict: v, attempts: 1 })).toBe(false)
    },
  )
})
