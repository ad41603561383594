import type { UsageDelta } from "../protocol/Canonical.js"
import type { UsageMinuteRow } from "../storage/UsageRepository.js"
import type { NanoUsd } from "./Cost.js"

/** What one answered request used, as the gateway knows it when the answer is complete (or cut). */
export interface UsageEntry {
  /** The API key's id, or null for the master key. */
  readonly apiKeyId: string | null
  readonly userId: string | null
  readonly provider: string
  /** The upstream model that served it. */
  readonly model: string
  readonly usage: UsageDelta
  /** What it cost (usage/Cost), or null when its model has no price. */
  readonly cost: NanoUsd | null
  /** False for a stream that did not finish cleanly (its partial usage still counts). */
  readonly complete: boolean
}

/** One row of `usage_minutes` (storage's shape), its sums still being added to. */
export type UsageRow = { -readonly [K in keyof UsageMinuteRow]: UsageMinuteRow[K] }

/** Pending rows, keyed by minute, caller and upstream. */
export type UsageTally = Map<string, UsageRow>

const MINUTE_MS = 60_000

/** The caller a row belongs to: the API key, or the master key. */
export const callerOf = (apiKeyId: string | null): string => (apiKeyId === null ? "master" : `key:${apiKeyId}`)

/** Adds one entry to the tally, in the minute of `nowMs`. */
export const addUsage = (tally: UsageTally, entry: UsageEntry, nowMs: number): void => {
  const minuteMs = nowMs - (nowMs % MINUTE_MS)
  const caller = callerOf(entry.apiKeyId)
  const key = `${minuteMs}\u0000${caller}\u0000${entry.provider}\u0000${entry.model}`
  let row = tally.get(key)
  if (row === undefined) {
    row = {
      minute: new Date(minuteMs),
      caller,
      apiKeyId: entry.apiKeyId,
      userId: entry.userId,
      provider: entry.provider,
      model: entry.model,
      requests: 0,
      incomplete: 0,
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      costNanoUsd: 0,
      unpriced: 0,
    }
    tally.set(key, row)
  }
  row.requests += 1
  if (!entry.complete) row.incomplete += 1
  row.inputTokens += entry.usage.inputTokens ?? 0
  row.outputTokens += entry.usage.outputTokens ?? 0
  row.cachedInputTokens += entry.usage.cachedInputTokens ?? 0
  if (entry.cost === null) row.unpriced += 1
  else row.costNanoUsd += entry.cost
}

/** Adds the rows of `from` into `into` (a batch that could not be written goes back). */
export const mergeTally = (into: UsageTally, from: UsageTally): void => {
  for (const [key, row] of from) {
    const existing = into.get(key)
    if (existing === undefined) {
      into.set(key, row)
      continue
    }
    existing.requests += row.requests
    existing.incomplete += row.incomplete
    existing.inputTokens += row.inputTokens
    existing.outputTokens += row.outputTokens
    existing.cachedInputTokens += row.cachedInputTokens
    existing.costNanoUsd += row.costNanoUsd
    existing.unpriced += row.unpriced
  }
}
