import { usdText } from "../../../src/usage/Cost.js"

/**
 * USD amounts as the management API writes them: exact decimal strings ("0.0005103"), at most
 * nine decimals (nano-dollars). The console adds them as whole nano-dollars (bigint), never as
 * floating-point numbers, so a table's figures are exact; charts take `usdNumber`'s approximation.
 */

const USD = /^(-?)(\d+)(?:\.(\d{1,9}))?$/

/** "0.0005103" → 510300n nano-dollars; null (nothing priced) → 0n. Throws on anything else. */
export const nanoOfUsd = (usd: string | null): bigint => {
  if (usd === null) return 0n
  const match = USD.exec(usd)
  if (match === null) throw new Error(`not a USD amount: ${usd.slice(0, 40)}`)
  const nano = BigInt(match[2]!) * 1_000_000_000n + BigInt((match[3] ?? "").padEnd(9, "0"))
  return match[1] === "-" ? -nano : nano
}

/** Nano-dollars → "$1,234.0005103": every decimal kept (at least two), thousands grouped. */
export const formatUsd = (nano: bigint): string => {
  const text = usdText(nano)
  const negative = text.startsWith("-")
  const [whole, fraction] = (negative ? text.slice(1) : text).split(".")
  return `${negative ? "−" : ""}$${whole!.replace(/\B(?=(\d{3})+$)/g, ",")}.${fraction}`
}

/** Nano-dollars → a number of USD, for charts only (may round past 2^53 nano-dollars). */
export const usdNumber = (nano: bigint): number => Number(nano) / 1e9

/** `used` of `amount` as a percentage from 0 to 100, to a tenth (exact integer arithmetic first). */
export const shareOf = (used: bigint, amount: bigint): number => {
  if (amount <= 0n) return used > 0n ? 100 : 0
  const tenths = (used * 1000n) / amount
  return Number(tenths < 0n ? 0n : tenths > 1000n ? 1000n : tenths) / 10
}
