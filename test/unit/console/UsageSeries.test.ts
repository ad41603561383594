import { describe, expect, it } from "vitest"
import type { UsageRow } from "../../../console/src/api/UsageTypes.js"
import { allUnpriced, bucketLines, MASTER, shapeUsage } from "../../../console/src/usage/UsageSeries.js"
import { windowOf } from "../../../console/src/usage/UsageWindow.js"
import { formatUsd } from "../../../console/src/usage/Usd.js"

const window = windowOf("24h", new Date("2025-03-10T13:45:00.000Z"))
const [, , , , , , , , , , , , , , , , , , , , , earlier, previous, current] = window.buckets

const row = (fields: Partial<UsageRow>): UsageRow => ({
  api_key_id: "key-a",
  user_id: "user-1",
  provider: "oai",
  model: "gpt-4o-mini",
  requests: 1,
  incomplete: 0,
  input_tokens: 10,
  output_tokens: 5,
  cached_input_tokens: 0,
  cost_usd: "0.1",
  unpriced_requests: 0,
  ...fields,
})

const rows: ReadonlyArray<UsageRow> = [
  row({ hour: earlier, requests: 2, input_tokens: 100, output_tokens: 50, cost_usd: "0.2" }),
  row({ hour: current, requests: 1, cost_usd: "0.1" }),
  row({ hour: current, api_key_id: "key-b", model: "claude", provider: "ant", requests: 4, cost_usd: "0.0005103" }),
  row({
    hour: previous,
    api_key_id: null,
    user_id: null,
    model: "mystery",
    requests: 3,
    cost_usd: null,
    unpriced_requests: 3,
  }),
]

const names: Record<string, string> = { "key-a": "billing", "key-b": "search", [MASTER]: "Master key" }

describe("usage rows → groups, tables and charts", () => {
  it("by key: groups sorted by requests, each bucket filled (zeros where nothing happened), costs exact", () => {
    const view = shapeUsage(rows, window, "key", (id) => names[id] ?? id)
    expect(view.groups.map((g) => [g.label, g.totals.requests])).toEqual([
      ["search", 4],
      ["billing", 3],
      ["Master key", 3],
    ])
    const billing = view.groups[1]!
    expect(billing.buckets).toHaveLength(24)
    expect(billing.buckets.map((c) => c.requests)).toEqual([...Array(21).fill(0), 2, 0, 1])
    // 0.2 + 0.1 in nano-dollars: exactly 0.30 (floats would say 0.30000000000000004).
    expect(formatUsd(billing.totals.costNano)).toBe("$0.30")
    expect(view.totals).toEqual({
      requests: 10,
      inputTokens: 130,
      outputTokens: 65,
      costNano: 300_510_300n,
      unpriced: 3,
    })
  })

  it("charts: x = the buckets' starts in seconds, one series per group in the groups' order, tokens in + out, cost in USD", () => {
    const view = shapeUsage(rows, window, "key", (id) => names[id] ?? id)
    const { requests, tokens, cost } = view.charts
    expect(requests).toHaveLength(4)
    expect(requests[0]).toEqual(window.starts)
    expect(requests[1]!.at(-1)).toBe(4)
    expect(requests[2]!.slice(-3)).toEqual([2, 0, 1])
    expect(tokens[2]!.slice(-3)).toEqual([150, 0, 15])
    expect(cost[1]!.at(-1)).toBeCloseTo(0.0005103, 12)
    expect(cost[3]!.every((value) => value === 0)).toBe(true)
  })

  it("by model and by provider; an all-unpriced group is unpriced, not free", () => {
    const byModel = shapeUsage(rows, window, "model", (id) => id)
    expect(byModel.groups.map((g) => g.id)).toEqual(["claude", "gpt-4o-mini", "mystery"])
    expect(allUnpriced(byModel.groups[2]!.totals)).toBe(true)
    expect(allUnpriced(byModel.groups[1]!.totals)).toBe(false)
    const byProvider = shapeUsage(rows, window, "provider", (id) => id)
    expect(byProvider.groups.map((g) => [g.id, g.totals.requests])).toEqual([
      ["oai", 6],
      ["ant", 4],
    ])
    expect(formatUsd(byProvider.groups[0]!.totals.costNano)).toBe("$0.30")
  })

  it("per-bucket lines: only where a group had requests, oldest first; rows outside the window count in totals only", () => {
    const view = shapeUsage(
      [...rows, row({ hour: "2025-03-01T00:00:00.000Z", requests: 7 })],
      window,
      "key",
      (id) => names[id] ?? id,
    )
    expect(bucketLines(view, window).map((l) => [l.bucket, l.group.label, l.counts.requests])).toEqual([
      [earlier, "billing", 2],
      [previous, "Master key", 3],
      // billing leads now (its 7 requests outside the window count in its totals).
      [current, "billing", 1],
      [current, "search", 4],
    ])
    expect(view.totals.requests).toBe(17)
  })

  it("no rows: no groups, zero totals, only the x series", () => {
    const view = shapeUsage([], window, "key", (id) => id)
    expect(view.groups).toEqual([])
    expect(view.totals.requests).toBe(0)
    expect(view.charts.requests).toEqual([window.starts])
  })
})
