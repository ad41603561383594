import type { ApiKey, Budget } from "../../api/Types.js"

/** How the key list shows a key's restrictions, in words. */

export const allowListText = (allowed: ReadonlyArray<string> | null): string =>
  allowed === null ? "every provider" : allowed.length === 0 ? "no provider" : allowed.join(", ")

const perMinute = (count: number | null, unit: string): string | undefined =>
  count === null ? undefined : `${count.toLocaleString("en")} ${unit}${count === 1 ? "" : "s"}/min`

export const limitsText = (key: Pick<ApiKey, "requests_per_minute" | "tokens_per_minute">): string => {
  const parts = [perMinute(key.requests_per_minute, "request"), perMinute(key.tokens_per_minute, "token")].filter(
    (part) => part !== undefined,
  )
  return parts.length === 0 ? "none" : parts.join(", ")
}

const PER: Record<Budget["period"], string> = {
  day: "a day",
  week: "a week",
  month: "a month",
  total: "in total",
}

export const budgetText = (budget: Budget | null): string =>
  budget === null ? "none" : `$${budget.amount_usd} ${PER[budget.period]}${budget.soft ? " (soft)" : ""}`
