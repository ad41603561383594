import { describe, expect, it } from "vitest"
import { limitsFor, type RequestLimits } from "../../../src/gateway/RequestLimits.js"
import { defaultRetryConfig } from "../../../src/routing/RetryPolicy.js"

const defaults: RequestLimits = {
  firstTokenMs: 15_000,
  idleMs: undefined,
  deadlineMs: 600_000,
  retry: defaultRetryConfig,
  rescues: 2,
}

describe("limitsFor", () => {
  it("is the defaults themselves when the logical model sets nothing (no allocation per request)", () => {
    expect(limitsFor(defaults, {})).toBe(defaults)
  })

  it("overrides only what the policy sets, seconds to milliseconds", () => {
    expect(limitsFor(defaults, { timeouts: { first_token: 2.5 } })).toEqual({ ...defaults, firstTokenMs: 2_500 })
    expect(limitsFor(defaults, { timeouts: { idle: 30, request: 45 } })).toEqual({
      ...defaults,
      idleMs: 30_000,
      deadlineMs: 45_000,
    })
    expect(limitsFor(defaults, { retries: 0 }).retry).toEqual({ ...defaultRetryConfig, maxRetries: 0 })
    expect(limitsFor(defaults, { rescue: false }).rescues).toBe(0)
    // `rescue: true` cannot raise the gateway's own cap (MIDSTREAM_RESCUES=0 turns it off everywhere).
    expect(limitsFor({ ...defaults, rescues: 0 }, { rescue: true }).rescues).toBe(0)
  })
})
