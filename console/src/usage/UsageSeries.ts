import type { UsageRow } from "../api/UsageTypes.js"
import type { UsageWindow } from "./UsageWindow.js"
import { nanoOfUsd, usdNumber } from "./Usd.js"

/**
 * `GET /usage` rows → what the usage page shows: one group per key, model or provider, its
 * totals and its figures per bucket (zero where it had none), and the three charts' uPlot data.
 * Pure. Costs are added exactly in nano-dollars; only the charts turn them into numbers.
 */

export const BREAKDOWNS = ["key", "model", "provider"] as const
export type Breakdown = (typeof BREAKDOWNS)[number]

export const BREAKDOWN_LABELS: Record<Breakdown, string> = { key: "API key", model: "Model", provider: "Provider" }

/** The id of the master key's group (its rows have no `api_key_id`). */
export const MASTER = "master"

export interface Counts {
  readonly requests: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costNano: bigint
  readonly unpriced: number
}

export const ZERO: Counts = { requests: 0, inputTokens: 0, outputTokens: 0, costNano: 0n, unpriced: 0 }

const plus = (a: Counts, b: Counts): Counts => ({
  requests: a.requests + b.requests,
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  costNano: a.costNano + b.costNano,
  unpriced: a.unpriced + b.unpriced,
})

const countsOf = (row: UsageRow): Counts => ({
  requests: row.requests,
  inputTokens: row.input_tokens,
  outputTokens: row.output_tokens,
  costNano: nanoOfUsd(row.cost_usd),
  unpriced: row.unpriced_requests,
})

/** Nothing priced among some requests: their cost is unknown, not zero (as `cost_usd: null`). */
export const allUnpriced = (counts: Counts): boolean => counts.requests > 0 && counts.unpriced >= counts.requests

export const groupOf = (breakdown: Breakdown, row: UsageRow): string =>
  breakdown === "key" ? (row.api_key_id ?? MASTER) : breakdown === "model" ? row.model : row.provider

export interface UsageGroup {
  readonly id: string
  readonly label: string
  readonly totals: Counts
  /** One entry per bucket of the window, in order. */
  readonly buckets: ReadonlyArray<Counts>
}

/** uPlot's data: the buckets' starts (Unix seconds), then one series per group. */
export type ChartData = [ReadonlyArray<number>, ...Array<ReadonlyArray<number>>]

export interface UsageView {
  /** Most requests first (then by label). */
  readonly groups: ReadonlyArray<UsageGroup>
  readonly totals: Counts
  readonly charts: { readonly requests: ChartData; readonly tokens: ChartData; readonly cost: ChartData }
}

/**
 * Shapes `rows` (of `window`'s group_by) by `breakdown`; `labelOf` names a group (a key's name,
 * say). Rows outside the window's buckets count in the totals only (none when the rows answer
 * `usagePath(window)`).
 */
export const shapeUsage = (
  rows: ReadonlyArray<UsageRow>,
  window: UsageWindow,
  breakdown: Breakdown,
  labelOf: (id: string) => string,
): UsageView => {
  const index = new Map(window.buckets.map((key, i) => [key, i]))
  const groups = new Map<string, { totals: Counts; buckets: Array<Counts> }>()
  let totals = ZERO
  for (const row of rows) {
    const counts = countsOf(row)
    totals = plus(totals, counts)
    const id = groupOf(breakdown, row)
    let group = groups.get(id)
    if (group === undefined) {
      group = { totals: ZERO, buckets: window.buckets.map(() => ZERO) }
      groups.set(id, group)
    }
    group.totals = plus(group.totals, counts)
    const at = index.get((window.groupBy === "hour" ? row.hour : row.day) ?? "")
    if (at !== undefined) group.buckets[at] = plus(group.buckets[at]!, counts)
  }
  const shaped = [...groups.entries()]
    .map(([id, group]) => ({ id, label: labelOf(id), ...group }))
    .sort((a, b) => b.totals.requests - a.totals.requests || a.label.localeCompare(b.label))
  const series = (value: (counts: Counts) => number): ChartData => [
    window.starts,
    ...shaped.map((group) => group.buckets.map(value)),
  ]
  return {
    groups: shaped,
    totals,
    charts: {
      requests: series((c) => c.requests),
      tokens: series((c) => c.inputTokens + c.outputTokens),
      cost: series((c) => usdNumber(c.costNano)),
    },
  }
}

/** One line of the per-bucket table: a group's figures in one bucket where it had requests. */
export interface BucketLine {
  readonly bucket: string
  readonly group: UsageGroup
  readonly counts: Counts
}

/** Every non-empty (bucket, group) of `view`, oldest bucket first, groups in `view`'s order. */
export const bucketLines = (view: UsageView, window: UsageWindow): ReadonlyArray<BucketLine> =>
  window.buckets.flatMap((bucket, i) =>
    view.groups
      .filter((group) => group.buckets[i]!.requests > 0)
      .map((group) => ({ bucket, group, counts: group.buckets[i]! })),
  )
