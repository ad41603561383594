import { describe, expect, it } from "vitest"
import type { Decision, Score } from "../../../console/src/api/RoutingTypes.js"
import { decideBodyOf, decimal, duration, emptyDecideDraft, planRows } from "../../../console/src/logical/DecidePlan.js"

const score = (value: number, change: Partial<Score> = {}): Score => ({
  score: value,
  base_weight: 2,
  weight: 3,
  latency: 0.5,
  error: 0,
  cost: 0.25,
  penalty: 0,
  confidence: 0,
  status: "unknown",
  ...change,
})

const decision: Decision = {
  logical_model: "fast",
  resolved_as: "fast",
  source: "logical",
  strategy: "balanced",
  selected_upstream: {
    provider: "a",
    model: "m",
    priority: 0,
    circuit: "closed",
    reason: "weighted_choice",
    score: score(2.8),
  },
  reasoning: "Selected provider 'a' model 'm'",
  sticky: "none",
  attempts: [
    { provider: "a", model: "m", priority: 0, circuit: "closed", reason: "weighted_choice", score: score(2.8) },
    {
      provider: "b",
      model: "m",
      priority: 1,
      circuit: "half_open",
      reason: "half_open_probe",
      score: score(0.6, { base_weight: 1, weight: 1, penalty: 1, status: "half_open" }),
    },
  ],
  skipped: [
    {
      provider: "c",
      model: "m",
      reason: "circuit_open",
      retry_after_ms: 12_400,
      score: score(-0.2, { base_weight: 0, weight: 0 }),
    },
  ],
  retry_after_ms: null,
  decision_time_ms: 0.4,
  bound: false,
}

describe("decide panel", () => {
  it("sends the model alone by default; optional fields only when filled, exclusions split", () => {
    expect(decideBodyOf({ ...emptyDecideDraft, model: " fast " })).toEqual({ logical_model: "fast" })
    expect(
      decideBodyOf({
        model: "fast",
        conversationId: " conv-1 ",
        apiKeyId: "key-1",
        userId: "",
        exclude: "a, b  c,",
        bind: true,
      }),
    ).toEqual({
      logical_model: "fast",
      conversation_id: "conv-1",
      api_key_id: "key-1",
      exclude_providers: ["a", "b", "c"],
      bind: true,
    })
  })

  it("one row per candidate in plan order, with its score and why; the skipped ones last", () => {
    const rows = planRows(decision)
    expect(rows.map((row) => [row.order, row.upstream, row.selected, row.score, row.why])).toEqual([
      ["1", "a/m", true, "2.800", "drawn by weight among the best tier"],
      ["2", "b/m", false, "0.600", "probe of a half-open circuit"],
      ["–", "c/m", false, "-0.200", "skipped: circuit open, retried in 12.4 s"],
    ])
    expect(rows[0]).toMatchObject({
      priority: "0",
      circuit: "closed",
      weight: "2 × 1.500 = 3.000",
      health: "unknown",
      latency: "0.500",
      cost: "0.250",
      confidence: "0.000",
    })
    expect(rows[1]).toMatchObject({ circuit: "half-open", health: "half-open", penalty: "1.000" })
    // A zero base weight has no factor to show: × 1.
    expect(rows[2]).toMatchObject({ weight: "0 × 1.000 = 0.000", priority: "", circuit: "open" })
  })

  it("no selection (every candidate excluded or open): nothing is marked selected", () => {
    const rows = planRows({ ...decision, selected_upstream: null })
    expect(rows.some((row) => row.selected)).toBe(false)
  })

  it("formats numbers and durations", () => {
    expect(decimal(-0.0001)).toBe("0.000")
    expect(decimal(1 / 3)).toBe("0.333")
    expect(duration(250.4)).toBe("250 ms")
    expect(duration(1000)).toBe("1 s")
    expect(duration(12_400)).toBe("12.4 s")
  })
})
