import type { Budget } from "../shared/Budget.js"
import type { BudgetWindow } from "./BudgetPeriod.js"
import { usdText } from "./Cost.js"

/**
 * Whether a caller may spend more: its budgets against what their periods have used. Pure.
 *
 * A budget is used up when what its period spent reaches the amount; a request is refused only
 * then, before any upstream is called. What a request will cost is known once it is answered, so
 * the requests admitted while a budget still had room may together pass it (README "Budgets").
 */

export type BudgetScope = "api_key" | "user"

/** One budget a caller is held to, and what its current period has spent so far. */
export interface BudgetUse {
  readonly scope: BudgetScope
  readonly budget: Budget
  readonly window: BudgetWindow
  readonly usedNanoUsd: number
}

export const isUsedUp = (use: BudgetUse): boolean => use.usedNanoUsd >= use.budget.amountNanoUsd

/** What is left of the budget (never below zero). */
export const remainingNanoUsd = (use: BudgetUse): number => Math.max(0, use.budget.amountNanoUsd - use.usedNanoUsd)

export interface BudgetVerdict {
  /** The budget that refuses the request (the key's before the user's), if one does. */
  readonly refused: BudgetUse | undefined
  /** Soft budgets used up: logged and counted, the request served. */
  readonly overSoft: ReadonlyArray<BudgetUse>
}

export const verdictOf = (uses: ReadonlyArray<BudgetUse>): BudgetVerdict => {
  const usedUp = uses.filter(isUsedUp)
  return { refused: usedUp.find((use) => !use.budget.soft), overSoft: usedUp.filter((use) => use.budget.soft) }
}

const ADJECTIVE = { day: "daily", week: "weekly", month: "monthly", total: "total" } as const

const whose = (use: BudgetUse): string =>
  use.scope === "api_key"
    ? `this API key's ${ADJECTIVE[use.budget.period]} budget`
    : `the ${ADJECTIVE[use.budget.period]} budget of this API key's user (all their keys)`

/** When the budget resets (ISO), or null for a total budget. */
export const resetsAt = (use: BudgetUse): string | null =>
  use.window.endMs === null ? null : new Date(use.window.endMs).toISOString()

/** What the client is told: which budget, how much of it went, and when it resets. */
export const refusalMessage = (use: BudgetUse): string => {
  const spent = `$${usdText(use.usedNanoUsd)} spent${use.window.endMs === null ? "" : ` since ${new Date(use.window.startMs).toISOString()}`}`
  const reset = resetsAt(use)
  return `Budget exceeded: ${whose(use)} of $${usdText(use.budget.amountNanoUsd)} is used up (${spent}); ${
    reset === null ? "it does not reset: an administrator may raise it" : `it resets at ${reset}`
  }`
}
