import { describe, expect, it } from "@effect/vitest"
import { addUsage, mergeTally, type UsageTally } from "../../../src/usage/UsageTally.js"

const entry = (apiKeyId: string | null, model: string, input: number, complete = true) => ({
  apiKeyId,
  userId: apiKeyId === null ? null : "u1",
  provider: "p",
  model,
  usage: { inputTokens: input, outputTokens: 1 },
  cost: input === 1 ? null : input * 10,
  complete,
})

describe("usage tally", () => {
  it("one row per minute, caller and upstream; incomplete streams are counted apart", () => {
    const tally: UsageTally = new Map()
    const t0 = Date.UTC(2026, 10, 26, 10, 0, 5)
    addUsage(tally, entry("k1", "m", 10), t0)
    addUsage(tally, entry("k1", "m", 5, false), t0 + 50_000)
    addUsage(tally, entry("k1", "m", 7), t0 + 60_000)
    addUsage(tally, entry("k1", "other", 1), t0)
    addUsage(tally, entry(null, "m", 2), t0)
    const rows = [...tally.values()].map((r) => [
      r.minute.toISOString(),
      r.caller,
      r.model,
      r.requests,
      r.incomplete,
      r.inputTokens,
      r.outputTokens,
      r.costNanoUsd,
      r.unpriced,
    ])
    expect(rows).toEqual([
      ["2026-11-26T10:00:00.000Z", "key:k1", "m", 2, 1, 15, 2, 150, 0],
      ["2026-11-26T10:01:00.000Z", "key:k1", "m", 1, 0, 7, 1, 70, 0],
      ["2026-11-26T10:00:00.000Z", "key:k1", "other", 1, 0, 1, 1, 0, 1],
      ["2026-11-26T10:00:00.000Z", "master", "m", 1, 0, 2, 1, 20, 0],
    ])
  })

  it("a batch that could not be written merges back into what came after it", () => {
    const t0 = Date.UTC(2026, 10, 26, 10, 0, 0)
    const failed: UsageTally = new Map()
    addUsage(failed, entry("k1", "m", 10), t0)
    const later: UsageTally = new Map()
    addUsage(later, entry("k1", "m", 3), t0 + 1_000)
    addUsage(later, entry("k2", "m", 4), t0 + 1_000)
    mergeTally(failed, later)
    expect([...failed.values()].map((r) => [r.caller, r.requests, r.inputTokens, r.costNanoUsd])).toEqual([
      ["key:k1", 2, 13, 130],
      ["key:k2", 1, 4, 40],
    ])
  })
})
