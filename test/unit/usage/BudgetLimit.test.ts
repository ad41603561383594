import { describe, expect, it } from "@effect/vitest"
import type { Budget } from "../../../src/shared/Budget.js"
import {
  type BudgetUse,
  isUsedUp,
  refusalMessage,
  remainingNanoUsd,
  resetsAt,
  verdictOf,
} from "../../../src/usage/BudgetLimit.js"
import { windowOf } from "../../../src/usage/BudgetPeriod.js"

const NOW = Date.parse("2026-12-03T11:43:26Z")
const USD = 1_000_000_000
const use = (scope: BudgetUse["scope"], budget: Budget, usedNanoUsd: number): BudgetUse => ({
  scope,
  budget,
  window: windowOf(budget.period, NOW),
  usedNanoUsd,
})
const day = (usd: number, soft = false): Budget => ({ amountNanoUsd: usd * USD, period: "day", soft })

describe("budget limit checks", () => {
  it("a budget is used up once what its period spent reaches the amount, not before", () => {
    expect(isUsedUp(use("api_key", day(5), 5 * USD - 1))).toBe(false)
    expect(isUsedUp(use("api_key", day(5), 5 * USD))).toBe(true)
    expect(isUsedUp(use("api_key", day(5), 7 * USD))).toBe(true)
    // A zero budget allows nothing at all.
    expect(isUsedUp(use("user", day(0), 0))).toBe(true)
    expect(remainingNanoUsd(use("api_key", day(5), 2 * USD))).toBe(3 * USD)
    expect(remainingNanoUsd(use("api_key", day(5), 7 * USD))).toBe(0)
  })

  it("a hard budget used up refuses (the key's before the user's); a soft one only reports", () => {
    const keyHard = use("api_key", day(5), 6 * USD)
    const userHard = use("user", day(50), 60 * USD)
    expect(verdictOf([keyHard, userHard]).refused).toBe(keyHard)
    expect(verdictOf([use("api_key", day(5), USD), userHard]).refused).toBe(userHard)
    const keySoft = use("api_key", day(5, true), 6 * USD)
    expect(verdictOf([keySoft, userHard])).toEqual({ refused: userHard, overSoft: [keySoft] })
    expect(verdictOf([keySoft, use("user", day(50), USD)])).toEqual({ refused: undefined, overSoft: [keySoft] })
    expect(verdictOf([use("api_key", day(5), USD)])).toEqual({ refused: undefined, overSoft: [] })
    expect(verdictOf([])).toEqual({ refused: undefined, overSoft: [] })
  })

  it("the refusal names the budget, what was spent and when it resets", () => {
    const keyDay = use("api_key", day(5), 5_001_200_000)
    expect(refusalMessage(keyDay)).toBe(
      "Budget exceeded: this API key's daily budget of $5.00 is used up ($5.0012 spent since 2026-12-03T00:00:00.000Z); it resets at 2026-12-04T00:00:00.000Z",
    )
    expect(resetsAt(keyDay)).toBe("2026-12-04T00:00:00.000Z")
    const userMonth = use("user", { amountNanoUsd: 100 * USD, period: "month", soft: false }, 100 * USD)
    expect(refusalMessage(userMonth)).toContain("the monthly budget of this API key's user (all their keys) of $100.00")
    expect(refusalMessage(userMonth)).toContain("it resets at 2027-01-01T00:00:00.000Z")
    const total = use("api_key", { amountNanoUsd: 20 * USD, period: "total", soft: false }, 21 * USD)
    expect(refusalMessage(total)).toBe(
      "Budget exceeded: this API key's total budget of $20.00 is used up ($21.00 spent); it does not reset: an administrator may raise it",
    )
    expect(resetsAt(total)).toBeNull()
  })
})
