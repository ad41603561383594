import type { BudgetPeriod } from "../shared/Budget.js"

/**
 * The period a budget counts spend in, as UTC calendar periods: a day from 00:00 UTC, a week
 * from Monday 00:00 UTC (ISO weeks), a month from the 1st at 00:00 UTC; `total` has no start
 * and never ends. Pure.
 */
export interface BudgetWindow {
  /** When the period began (epoch ms; 0 for `total`). */
  readonly startMs: number
  /** When it ends and the budget resets (exclusive), or null for `total`. */
  readonly endMs: number | null
}

const DAY_MS = 86_400_000

/** The period of `period` that contains `nowMs`. */
export const windowOf = (period: BudgetPeriod, nowMs: number): BudgetWindow => {
  const now = new Date(nowMs)
  const year = now.getUTCFullYear()
  const month = now.getUTCMonth()
  const day = Date.UTC(year, month, now.getUTCDate())
  switch (period) {
    case "day":
      return { startMs: day, endMs: day + DAY_MS }
    case "week": {
      // getUTCDay: 0 is Sunday; ISO weeks start on Monday.
      const start = day - ((now.getUTCDay() + 6) % 7) * DAY_MS
      return { startMs: start, endMs: start + 7 * DAY_MS }
    }
    case "month":
      return { startMs: Date.UTC(year, month, 1), endMs: Date.UTC(year, month + 1, 1) }
    case "total":
      return { startMs: 0, endMs: null }
  }
}

/**
 * How long a seeded spend counter lives: until its period ends, and at most `maxMs` — past that
 * it is seeded again from the database, so a counter that missed spend (its store was unreachable
 * for a while, see README "Budgets") is right again within `maxMs`.
 */
export const counterTtlMs = (window: BudgetWindow, nowMs: number, maxMs: number): number =>
  window.endMs === null ? maxMs : Math.max(1, Math.min(maxMs, window.endMs - nowMs))
