import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { budgetAmountOf, budgetColumns, budgetOfColumns, MAX_BUDGET_USD } from "../../../src/shared/Budget.js"

const nano = (input: string | number) => Either.getOrThrow(budgetAmountOf(input))
const refused = (input: string | number) => Either.isLeft(budgetAmountOf(input))

describe("budget amounts: USD in, exact nano-dollars out", () => {
  it("decimal strings are read exactly, to the nano-dollar", () => {
    expect(nano("25")).toBe(25_000_000_000)
    expect(nano("12.50")).toBe(12_500_000_000)
    expect(nano("0.000000001")).toBe(1)
    expect(nano("0")).toBe(0)
    expect(nano("0.10000000000")).toBe(100_000_000) // trailing zeros past 9 decimals say nothing more
    expect(nano("007.5")).toBe(7_500_000_000)
    expect(nano(String(MAX_BUDGET_USD))).toBe(MAX_BUDGET_USD * 1e9)
    expect(nano("999999.999999999")).toBe(999_999_999_999_999)
  })

  it("JSON numbers are read as the decimal they were written as, never through float arithmetic", () => {
    expect(nano(0.1)).toBe(100_000_000)
    expect(nano(0.3)).toBe(300_000_000) // 0.1 + 0.2 would not be
    expect(nano(19.99)).toBe(19_990_000_000)
    expect(nano(1.5e-7)).toBe(150) // printed with an exponent by JavaScript
    expect(nano(1e-9)).toBe(1)
    expect(nano(5)).toBe(5_000_000_000)
    expect(nano(-0)).toBe(0)
  })

  it("hostile amounts are refused, never rounded or clamped", () => {
    for (const input of [
      "-1",
      "-0.01",
      " 5",
      "5 ",
      "1e3",
      "1,5",
      "",
      ".5",
      "5.",
      "+5",
      "0x10",
      "NaN",
      "Infinity",
      "١٢",
      "1.0000000001",
      "0.0000000005",
      "1000000.000000001",
      "10000000",
      "99999999999999999999999",
      "1".repeat(60),
    ]) {
      expect([input, refused(input)]).toEqual([input, true])
    }
    for (const input of [
      -1,
      -0.0001,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1e-10,
      0.1234567891,
      1_000_000.5,
      1e21,
      Number.MAX_VALUE,
    ]) {
      expect([input, refused(input)]).toEqual([input, true])
    }
    expect(Either.getLeft(budgetAmountOf("-1"))).toEqual(Either.getLeft(budgetAmountOf(1e-10)))
  })

  it("columns round-trip a budget; anything unreadable is no budget", () => {
    const budget = { amountNanoUsd: 12_500_000_000, period: "month", soft: true } as const
    const columns = budgetColumns(budget)
    expect(budgetOfColumns(String(columns.budget_nanousd), columns.budget_period, columns.budget_soft)).toEqual(budget)
    expect(budgetColumns(null)).toEqual({ budget_nanousd: null, budget_period: null, budget_soft: false })
    expect(budgetOfColumns(null, null, false)).toBeUndefined()
    expect(budgetOfColumns("5", "fortnight", false)).toBeUndefined()
    expect(budgetOfColumns("-5", "day", false)).toBeUndefined()
    expect(budgetOfColumns("5", "day", null)).toEqual({ amountNanoUsd: 5, period: "day", soft: false })
  })
})
