import { describe, expect, it } from "vitest"
import { formatUsd, nanoOfUsd, shareOf, usdNumber } from "../../../console/src/usage/Usd.js"

describe("console USD amounts", () => {
  it("reads the API's exact decimal strings to the nano-dollar; null is nothing priced", () => {
    expect(nanoOfUsd("0.0005103")).toBe(510_300n)
    expect(nanoOfUsd("0.75")).toBe(750_000_000n)
    expect(nanoOfUsd("12")).toBe(12_000_000_000n)
    expect(nanoOfUsd("0.000000001")).toBe(1n)
    expect(nanoOfUsd("-1.5")).toBe(-1_500_000_000n)
    expect(nanoOfUsd(null)).toBe(0n)
    // Past what a float holds exactly: 2^53 + 1 nano-dollars.
    expect(nanoOfUsd("9007199.254740993")).toBe(9_007_199_254_740_993n)
  })

  it("refuses what is not an amount (ten decimals, exponents, blanks)", () => {
    for (const bad of ["", "1.", ".5", "0.0000000001", "1e3", " 1", "NaN", "1,000.00"])
      expect(() => nanoOfUsd(bad), bad).toThrow("not a USD amount")
  })

  it("formats every decimal (at least two), groups thousands, and loses nothing a sum of strings would", () => {
    expect(formatUsd(510_300n)).toBe("$0.0005103")
    expect(formatUsd(0n)).toBe("$0.00")
    expect(formatUsd(750_000_000n)).toBe("$0.75")
    expect(formatUsd(1_234_567_000_000_001n)).toBe("$1,234,567.000000001")
    expect(formatUsd(-1_500_000_000n)).toBe("−$1.50")
    // 0.1 + 0.2 in floating point is 0.30000000000000004; in nano-dollars it is 0.30.
    expect(formatUsd(nanoOfUsd("0.1") + nanoOfUsd("0.2"))).toBe("$0.30")
    expect(formatUsd(nanoOfUsd("9007199.254740993"))).toBe("$9,007,199.254740993")
  })

  it("a chart's number is the amount in USD", () => {
    expect(usdNumber(510_300n)).toBeCloseTo(0.0005103, 12)
    expect(usdNumber(0n)).toBe(0)
  })

  it("a budget's share used: a percentage to a tenth, clamped to 0–100", () => {
    expect(shareOf(nanoOfUsd("0.25"), nanoOfUsd("1"))).toBe(25)
    expect(shareOf(nanoOfUsd("0.0005103"), nanoOfUsd("0.001"))).toBe(51)
    expect(shareOf(1n, 3n)).toBe(33.3)
    expect(shareOf(nanoOfUsd("5"), nanoOfUsd("1"))).toBe(100)
    expect(shareOf(0n, nanoOfUsd("1"))).toBe(0)
    expect(shareOf(0n, 0n)).toBe(0)
    expect(shareOf(1n, 0n)).toBe(100)
  })
})
