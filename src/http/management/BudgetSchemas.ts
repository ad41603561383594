import { Either, ParseResult, Schema } from "effect"
import {
  BUDGET_AMOUNT_EXPECTED,
  BUDGET_PERIODS,
  type Budget,
  budgetAmountOf,
  MAX_BUDGET_USD,
} from "../../shared/Budget.js"
import { type BudgetUse, isUsedUp, remainingNanoUsd } from "../../usage/BudgetLimit.js"
import { usdText } from "../../usage/Cost.js"

/**
 * A budget on the wire (README "Budgets"): what a client sends to set one, how a key or a user
 * shows its setting, and its status with what the current period used. Amounts are USD as exact
 * decimal strings; a client may send a JSON number too.
 */

const expected = () => ({ message: BUDGET_AMOUNT_EXPECTED, override: true })

/** USD as a decimal string or a number → nano-dollars, exactly, or a 400 saying what is accepted. */
const BudgetAmount = Schema.transformOrFail(
  Schema.Union(Schema.String.pipe(Schema.maxLength(64)), Schema.Number).annotations({ message: expected }),
  Schema.Number,
  {
    strict: true,
    decode: (input, _, ast) =>
      Either.match(budgetAmountOf(input), {
        onLeft: (problem) => ParseResult.fail(new ParseResult.Type(ast, input, problem)),
        onRight: ParseResult.succeed,
      }),
    encode: (nano) => ParseResult.succeed(usdText(nano)),
  },
).annotations({
  message: expected,
  description: `USD, at most ${MAX_BUDGET_USD}, to the nano-dollar (9 decimals): "25", "12.50" or a JSON number`,
})

export const BudgetPeriod = Schema.Literal(...BUDGET_PERIODS).annotations({
  description:
    "day, week (from Monday) or month: the UTC calendar period, which resets at its end; total: never resets",
})

/** A budget to set. */
export const BudgetSetting = Schema.Struct({
  amount_usd: BudgetAmount,
  period: BudgetPeriod,
  soft: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "true: going over it is logged and counted, never refused",
  }),
}).annotations({ identifier: "BudgetSetting" })

export const toBudget = (setting: typeof BudgetSetting.Type): Budget => ({
  amountNanoUsd: setting.amount_usd,
  period: setting.period,
  soft: setting.soft,
})

/** A budget as a key or a user shows it (its use: the `/budget` routes). */
export const BudgetSettingResponse = Schema.Struct({
  amount_usd: Schema.String,
  period: BudgetPeriod,
  soft: Schema.Boolean,
}).annotations({ identifier: "Budget" })

export const renderBudgetSetting = (budget: Budget | undefined) =>
  budget === undefined ? null : { amount_usd: usdText(budget.amountNanoUsd), period: budget.period, soft: budget.soft }

export const BudgetStatusResponse = Schema.Struct({
  budget: Schema.Literal("api_key", "user").annotations({
    description: "whose budget: an API key's, or a user's (all their keys together)",
  }),
  user_id: Schema.String,
  api_key_id: Schema.NullOr(Schema.String),
  ...BudgetSettingResponse.fields,
  period_start: Schema.NullOr(Schema.String).annotations({
    description: "when the current period began (ISO, UTC); null for total",
  }),
  resets_at: Schema.NullOr(Schema.String).annotations({
    description: "when it ends and the budget resets (ISO, UTC); null for total",
  }),
  used_usd: Schema.String.annotations({
    description: "what the priced answers of the current period cost (unpriced models cost nothing here)",
  }),
  remaining_usd: Schema.String.annotations({ description: "amount_usd − used_usd, at least 0" }),
  exceeded: Schema.Boolean.annotations({
    description: "used up: requests are refused (429 budget_exceeded) unless it is soft",
  }),
}).annotations({ identifier: "BudgetStatus" })

export const renderBudgetStatus = (
  owner: { readonly userId: string; readonly apiKeyId: string | null },
  use: BudgetUse,
) => ({
  budget: use.scope,
  user_id: owner.userId,
  api_key_id: owner.apiKeyId,
  amount_usd: usdText(use.budget.amountNanoUsd),
  period: use.budget.period,
  soft: use.budget.soft,
  period_start: use.window.endMs === null ? null : new Date(use.window.startMs).toISOString(),
  resets_at: use.window.endMs === null ? null : new Date(use.window.endMs).toISOString(),
  used_usd: usdText(use.usedNanoUsd),
  remaining_usd: usdText(remainingNanoUsd(use)),
  exceeded: isUsedUp(use),
})
