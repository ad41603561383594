import { Either } from "effect"

/**
 * A spend limit of an API key or a user (issue 15 item 3): an amount in nano-dollars (1e-9 USD,
 * an integer, like every cost: usage/Cost.ts) per UTC calendar period, or in total. One shape
 * for the database columns (`budget_nanousd`, `budget_period`, `budget_soft`), the principal of
 * a request, the enforcement (usage/Budgets) and the management API.
 */

export const BUDGET_PERIODS = ["day", "week", "month", "total"] as const
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number]

export interface Budget {
  readonly amountNanoUsd: number
  readonly period: BudgetPeriod
  /** Soft: going over it is logged and counted, never refused. */
  readonly soft: boolean
}

/** The budgets a request's caller is held to: its API key's and its user's. */
export interface CallerBudgets {
  readonly key?: Budget | undefined
  readonly user?: Budget | undefined
}

/**
 * The largest budget accepted: a million dollars is 1e15 nano-dollars, well inside the integers
 * a JavaScript number holds exactly (2^53), so amounts, counters and their sums stay exact.
 */
export const MAX_BUDGET_USD = 1_000_000
const NANO_DIGITS = 9
const NANO_PER_USD = 1_000_000_000n
const MAX_BUDGET_NANO = BigInt(MAX_BUDGET_USD) * NANO_PER_USD

export const BUDGET_AMOUNT_EXPECTED = `expected an amount in USD from 0 to ${MAX_BUDGET_USD} with at most ${NANO_DIGITS} decimals, as a string ("12.50") or a number`

const DECIMAL = /^(\d{1,16})(?:\.(\d{1,32}))?$/
const EXPONENT = /^(\d)(?:\.(\d+))?e([+-]\d+)$/

/**
 * A JSON number as the decimal it was written as: JavaScript prints the shortest text that reads
 * back as the same number (0.1 → "0.1"), with an exponent below 1e-6 and from 1e21 on, which is
 * spelled out here (1.5e-7 → "0.00000015").
 */
const decimalOf = (value: number): string => {
  const text = String(value)
  const match = EXPONENT.exec(text)
  if (match === null) return text
  const digits = match[1]! + (match[2] ?? "")
  const point = 1 + Number(match[3])
  if (point <= 0) return `0.${"0".repeat(-point)}${digits}`
  return point >= digits.length
    ? digits + "0".repeat(point - digits.length)
    : `${digits.slice(0, point)}.${digits.slice(point)}`
}

/**
 * A budget amount as a client sends it — a decimal string (exact) or a JSON number — in
 * nano-dollars, or why it is not one: negative, not a number, over MAX_BUDGET_USD, or finer than
 * a nano-dollar are refused, never rounded.
 */
export const budgetAmountOf = (input: string | number): Either.Either<number, string> => {
  if (typeof input === "number" && (!Number.isFinite(input) || input < 0)) return Either.left(BUDGET_AMOUNT_EXPECTED)
  const text = typeof input === "number" ? decimalOf(input) : input
  const match = DECIMAL.exec(text)
  if (match === null) return Either.left(BUDGET_AMOUNT_EXPECTED)
  const fraction = (match[2] ?? "").replace(/0+$/, "")
  if (fraction.length > NANO_DIGITS) return Either.left(BUDGET_AMOUNT_EXPECTED)
  const nano = BigInt(match[1]!) * NANO_PER_USD + BigInt(fraction.padEnd(NANO_DIGITS, "0"))
  return nano > MAX_BUDGET_NANO ? Either.left(BUDGET_AMOUNT_EXPECTED) : Either.right(Number(nano))
}

const isPeriod = (value: unknown): value is BudgetPeriod => (BUDGET_PERIODS as ReadonlyArray<unknown>).includes(value)

/** A budget from its stored columns (the amount as the driver gives a bigint: text or number); undefined when none is set. */
export const budgetOfColumns = (amount: unknown, period: unknown, soft: unknown): Budget | undefined => {
  if (amount === null || amount === undefined || !isPeriod(period)) return undefined
  const amountNanoUsd = Number(amount)
  return Number.isSafeInteger(amountNanoUsd) && amountNanoUsd >= 0
    ? { amountNanoUsd, period, soft: soft === true }
    : undefined
}

/** A budget (or none) as the columns of `api_keys` and `users` that store it. */
export const budgetColumns = (budget: Budget | null) => ({
  budget_nanousd: budget === null ? null : budget.amountNanoUsd,
  budget_period: budget === null ? null : budget.period,
  budget_soft: budget === null ? false : budget.soft,
})
