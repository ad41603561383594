import { describe, expect, it } from "vitest"
import type { ProviderMetrics } from "../../../console/src/api/Types.js"
import {
  agoText,
  backoffText,
  circuitSummary,
  circuitText,
  discoveryText,
  spanText,
  trippedUpstreams,
} from "../../../console/src/providers/ProviderStatusText.js"

const NOW = Date.parse("2025-06-01T12:00:00Z")
const closed = { status: "closed", retry_after_ms: null } as const

describe("the providers page's status text", () => {
  it("spans and ages", () => {
    expect(spanText(-5)).toBe("0 s")
    expect(spanText(44_600)).toBe("45 s")
    expect(spanText(30 * 60_000)).toBe("30 min")
    expect(spanText(5 * 3_600_000)).toBe("5 h")
    expect(spanText(3 * 86_400_000)).toBe("3 d")
    expect(agoText(new Date(NOW - 2000).toISOString(), NOW)).toBe("just now")
    expect(agoText(new Date(NOW - 180_000).toISOString(), NOW)).toBe("3 min ago")
    expect(agoText("not a date", NOW)).toBe("at an unknown time")
  })

  it("circuits: closed, half-open, open with the wait; tripped upstreams worst first", () => {
    expect(circuitText(closed)).toBe("closed")
    expect(circuitText({ status: "half_open", retry_after_ms: null })).toBe("half-open")
    expect(circuitText({ status: "open", retry_after_ms: 25_000 })).toBe("open · retry in 25 s")
    expect(circuitText({ status: "open", retry_after_ms: null })).toBe("open")
    const upstreams = [
      { model: "c", circuit: { status: "half_open", retry_after_ms: null } },
      { model: "a", circuit: closed },
      { model: "b", circuit: { status: "open", retry_after_ms: 1000 } },
    ] as const
    expect(trippedUpstreams(upstreams).map((u) => u.model)).toEqual(["b", "c"])
    const metrics = { circuit: { status: "open", retry_after_ms: 1000 }, upstreams } as unknown as ProviderMetrics
    expect(circuitSummary(metrics)).toBe("open · retry in 1 s (2 of 3 not closed)")
    expect(circuitSummary({ circuit: closed, upstreams: [] } as unknown as ProviderMetrics)).toBe(
      "closed (no upstream yet)",
    )
  })

  it("a key's back-off", () => {
    const key = { id: "k", label: "main", backoff: "none", backoff_until: null, failures: 0 } as const
    expect(backoffText(undefined, NOW)).toBe("ready")
    expect(backoffText(key, NOW)).toBe("ready")
    const until = new Date(NOW + 30_000).toISOString()
    expect(backoffText({ ...key, backoff: "backoff", backoff_until: until, failures: 1 }, NOW)).toBe(
      "backing off · 30 s left (1 failure)",
    )
    expect(backoffText({ ...key, backoff: "retry_after", backoff_until: until, failures: 2 }, NOW)).toBe(
      "provider asked to wait · 30 s left",
    )
  })

  it("the last discovery: none, models counted, or the error", () => {
    expect(discoveryText("static", null, NOW)).toBe("static list (no discovery)")
    expect(discoveryText("discovered", null, NOW)).toBe("not run yet")
    const at = new Date(NOW - 120_000).toISOString()
    expect(discoveryText("discovered", { at, models: 12, error: null }, NOW)).toBe("12 models, 2 min ago")
    expect(discoveryText("discovered", { at, models: 1, error: null }, NOW)).toBe("1 model, 2 min ago")
    expect(discoveryText("discovered", { at, models: null, error: "HTTP 401: bad key" }, NOW)).toBe(
      "failed 2 min ago: HTTP 401: bad key",
    )
  })
})
