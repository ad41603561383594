import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Ref, TestClock } from "effect"
import type { AttemptOutcome, Verdict } from "../../../src/routing/RetryPolicy.js"
import {
  classify,
  isConnectionFailure,
  isPenalisable,
  keyFailureOf,
  parseRetryAfter,
  retriesSameCandidate,
  retrySchedule,
} from "../../../src/routing/RetryPolicy.js"

const http = (status: number, extra: Partial<Extract<AttemptOutcome, { _tag: "HttpError" }>> = {}): AttemptOutcome => ({
  _tag: "HttpError",
  status,
  ...extra,
})

describe("classify", () => {
  it("retries transient failures: 5xx, 408, 429, transport errors — and penalises them", () => {
    for (const o of [
      http(500),
      http(502),
      http(503),
      http(504),
      http(408),
      http(429, { retryAfterMs: 1500 }),
      { _tag: "TransportError", kind: "reset" } as const,
      { _tag: "TransportError", kind: "connect" } as const,
    ]) {
      const v = classify(o)
      expect(v._tag, JSON.stringify(o)).toBe("Retryable")
      expect(isPenalisable(v)).toBe(true)
    }
    expect(classify(http(429, { retryAfterMs: 1500 }))).toEqual({
      _tag: "Retryable",
      reason: "rate_limited",
      retryAfterMs: 1500,
    })
  })

  it("never retries what retrying cannot fix, and never penalises the client's own errors", () => {
    const cases: Array<[AttemptOutcome, Verdict["_tag"], string]> = [
      [
        http(400, {
          errorCode: "context_length_exceeded",
          message: "This model's maximum context length is 8192 tokens",
        }),
        "FailoverNow",
        "context_length_exceeded",
      ],
      [
        http(400, {
          errorType: "invalid_request_error",
          message: "prompt is too long: 210000 tokens > 200000 maximum",
        }),
        "FailoverNow",
        "context_length_exceeded",
      ],
      [http(400, { errorCode: "content_policy_violation", message: "rejected" }), "Fatal", "content_policy"],
      [http(400, { message: "Your request was rejected as a result of our safety system" }), "Fatal", "content_policy"],
      [http(400, { message: "messages: field required" }), "Fatal", "client_error"],
      [http(422, { message: "invalid value" }), "Fatal", "client_error"],
      [http(413), "Fatal", "client_error"],
      [http(404, { errorCode: "model_not_found" }), "FailoverNow", "model_not_found"],
      [http(400, { message: "The model `gpt-9` does not exist" }), "FailoverNow", "model_not_found"],
      [http(400, { message: "This model does not support tools" }), "FailoverNow", "capability_mismatch"],
      [http(501), "FailoverNow", "not_implemented"],
    ]
    for (const [o, tag, reason] of cases) {
      const v = classify(o)
      expect(v._tag, JSON.stringify(o)).toBe(tag)
      expect(v.reason).toBe(reason)
      expect(isPenalisable(v), JSON.stringify(o)).toBe(false)
    }
  })

  it("401/403/402 rotate the key instead of retrying; the provider is not penalised, the key is", () => {
    for (const s of [401, 403, 402]) {
      const v = classify(http(s))
      expect(v._tag).toBe("RotateKey")
      expect(isPenalisable(v)).toBe(false)
      expect(keyFailureOf(v)).toBe("auth")
    }
  })

  it("a context-length error fails over (to a model with more room) whatever the 4xx status, never retried", () => {
    expect(classify(http(413, { message: "Request too large: too many tokens" }))).toEqual({
      _tag: "FailoverNow",
      reason: "context_length_exceeded",
    })
  })

  it("a silent upstream is retryable (penalised) but not retried on the same candidate", () => {
    const v = classify({ _tag: "TransportError", kind: "timeout" })
    expect(v).toMatchObject({ _tag: "Retryable", reason: "timeout" })
    expect(isPenalisable(v)).toBe(true)
    expect(retriesSameCandidate({ verdict: v, attempts: 1 })).toBe(false)
    expect(retriesSameCandidate({ verdict: classify({ _tag: "TransportError", kind: "reset" }), attempts: 1 })).toBe(
      true,
    )
  })

  it("only failures of the connection itself count against the provider; a 429 backs the key off for its model", () => {
    expect(isConnectionFailure({ _tag: "TransportError", kind: "connect" })).toBe(true)
    expect(isConnectionFailure({ _tag: "TransportError", kind: "reset", beforeResponse: true })).toBe(true)
    expect(isConnectionFailure({ _tag: "TransportError", kind: "reset" })).toBe(false)
    expect(isConnectionFailure({ _tag: "TransportError", kind: "timeout" })).toBe(false)
    expect(isConnectionFailure(http(503))).toBe(false)
    expect(isConnectionFailure(http(429))).toBe(false)
    expect(keyFailureOf(classify(http(429)))).toBe("retryable")
    expect(keyFailureOf(classify(http(503, { retryAfterMs: 2000 })))).toBe("retryable")
    expect(keyFailureOf(classify(http(503)))).toBeUndefined()
  })

  it("the provider's retryable_status overrides the default rule", () => {
    const p = { retryableStatus: [418] }
    expect(classify(http(418), p)._tag).toBe("Retryable")
    const v500 = classify(http(500), p)
    expect(v500).toMatchObject({ _tag: "Fatal", status: 500, penalise: true })
    expect(classify(http(429), p)._tag).toBe("Fatal")
    expect(classify({ _tag: "TransportError", kind: "timeout" }, p)._tag).toBe("Retryable")
    expect(classify(http(400, { errorCode: "context_length_exceeded" }), { retryableStatus: [400] })._tag).toBe(
      "Retryable",
    )
    // An empty list is no override.
    expect(classify(http(503), { retryableStatus: [] })._tag).toBe("Retryable")
  })
})

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-01-01T00:00:00Z")
  const h = (m: Record<string, string>) => (n: string) => m[n]
  it("reads seconds, HTTP dates and retry-after-ms", () => {
    expect(parseRetryAfter(h({ "retry-after": "3" }), now)).toBe(3000)
    expect(parseRetryAfter(h({ "retry-after": "Wed, 01 Jan 2025 00:00:10 GMT" }), now)).toBe(10_000)
    expect(parseRetryAfter(h({ "retry-after-ms": "250", "retry-after": "3" }), now)).toBe(250)
    expect(parseRetryAfter(h({ "retry-after": "soon" }), now)).toBeUndefined()
    expect(parseRetryAfter(h({}), now)).toBeUndefined()
  })
})

class Failed {
  constructor(
    readonly verdict: Verdict,
    readonly attempts = 1,
  ) {}
}

const cfg = { maxRetries: 3, baseDelayMs: 100, factor: 2, maxDelayMs: 1000, maxRetryAfterMs: 10_000, maxAttempts: 8 }

/** An attempt that fails with `verdicts[i]` on call i and succeeds after them; records call times. */
const flaky = (verdicts: ReadonlyArray<Verdict>, calls: Ref.Ref<ReadonlyArray<number>>) =>
  Effect.gen(function* () {
    const now = yield* TestClock.currentTimeMillis
    const seen = yield* Ref.updateAndGet(calls, (c) => [...c, now])
    const v = verdicts[seen.length - 1]
    if (v !== undefined) return yield* Effect.fail(new Failed(v))
    return "ok"
  })

const retryable = (retryAfterMs?: number): Verdict => ({ _tag: "Retryable", reason: "server_error", retryAfterMs })

describe("retrySchedule", () => {
  it.effect("retries with growing, jittered backoff and succeeds", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make<ReadonlyArray<number>>([])
      const fiber = yield* Effect.fork(
        flaky([retryable(), retryable(), retryable()], calls).pipe(Effect.retry(retrySchedule(cfg))),
      )
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      const t = yield* Ref.get(calls)
      expect(t).toHaveLength(4)
      const gaps = t.slice(1).map((x, i) => x - t[i]!)
      // 100, 200, 400 ms ± 20 % jitter
      ;[100, 200, 400].forEach((base, i) => {
        expect(gaps[i]!).toBeGreaterThanOrEqual(base * 0.8 - 1)
        expect(gaps[i]!).toBeLessThanOrEqual(base * 1.2 + 1)
      })
    }),
  )

  it.effect("gives up after maxRetries", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make<ReadonlyArray<number>>([])
      const fiber = yield* Effect.fork(
        flaky(Array(10).fill(retryable()), calls).pipe(Effect.retry(retrySchedule(cfg)), Effect.exit),
      )
      yield* TestClock.adjust("1 minute")
      expect(Exit.isFailure(yield* Fiber.join(fiber))).toBe(true)
      expect(yield* Ref.get(calls)).toHaveLength(4)
    }),
  )

  it.effect("does not retry Fatal, FailoverNow or RotateKey", () =>
    Effect.gen(function* () {
      for (const v of [
        { _tag: "Fatal", reason: "client_error", status: 400, penalise: false },
        { _tag: "FailoverNow", reason: "model_not_found" },
        { _tag: "RotateKey", reason: "key_rejected", status: 401 },
      ] as const) {
        const calls = yield* Ref.make<ReadonlyArray<number>>([])
        const exit = yield* flaky([v], calls).pipe(Effect.retry(retrySchedule(cfg)), Effect.exit)
        expect(Exit.isFailure(exit)).toBe(true)
        expect(yield* Ref.get(calls)).toHaveLength(1)
      }
    }),
  )

  it.effect("waits at least Retry-After", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make<ReadonlyArray<number>>([])
      const fiber = yield* Effect.fork(flaky([retryable(3000)], calls).pipe(Effect.retry(retrySchedule(cfg))))
      yield* TestClock.adjust("2999 millis")
      expect(yield* Ref.get(calls)).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      const t = yield* Ref.get(calls)
      expect(t[1]! - t[0]!).toBe(3000)
    }),
  )

  it.effect("moves on instead of waiting past the deadline or past maxRetryAfterMs", () =>
    Effect.gen(function* () {
      const start = yield* TestClock.currentTimeMillis
      const calls = yield* Ref.make<ReadonlyArray<number>>([])
      const exit = yield* flaky([retryable(3000)], calls).pipe(
        Effect.retry(retrySchedule(cfg, start + 2000)),
        Effect.exit,
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* Ref.get(calls)).toHaveLength(1)

      const calls2 = yield* Ref.make<ReadonlyArray<number>>([])
      const exit2 = yield* flaky([retryable(60_000)], calls2).pipe(Effect.retry(retrySchedule(cfg)), Effect.exit)
      expect(Exit.isFailure(exit2)).toBe(true)
      expect(yield* Ref.get(calls2)).toHaveLength(1)
    }),
  )
})
