import type { User } from "../api/Types.js"
import type { BudgetStatus } from "../api/UsageTypes.js"
import { budgetOwner, type Directory } from "./Directory.js"
import { formatUsd, nanoOfUsd, shareOf } from "./Usd.js"

const PERIODS: Record<BudgetStatus["period"], string> = {
  day: "per UTC day",
  week: "per week (from Monday)",
  month: "per month",
  total: "in total",
}

const resetText = (budget: BudgetStatus): string =>
  budget.resets_at === null ? "never resets" : `resets ${budget.resets_at.slice(0, 16).replace("T", " ")} UTC`

/** Each budget: its limit, what its period spent and has left, and a bar of the share used. */
export const BudgetList = ({ directory, me }: { readonly directory: Directory; readonly me: User }) => {
  if (directory.budgets.length === 0)
    return <p>No budget is set{me.is_superuser ? "" : " on your account or your keys"}.</p>
  return (
    <ul class="plain budgets">
      {directory.budgets.map((budget) => {
        const owner = budgetOwner(budget, directory, me)
        const share = shareOf(nanoOfUsd(budget.used_usd), nanoOfUsd(budget.amount_usd))
        const used = formatUsd(nanoOfUsd(budget.used_usd))
        const amount = formatUsd(nanoOfUsd(budget.amount_usd))
        const state = budget.exceeded ? (budget.soft ? "over (soft: not refused)" : "used up: refused") : undefined
        return (
          <li key={`${budget.budget}:${budget.api_key_id ?? budget.user_id}`} class="card budget">
            <h3>{owner}</h3>
            <p>
              {amount} {PERIODS[budget.period]}
              {budget.soft ? " (soft)" : ""} · {resetText(budget)}
            </p>
            <meter
              class={`bar${budget.exceeded ? " over" : ""}`}
              min={0}
              max={100}
              value={share}
              aria-label={`${owner}: budget used`}
              aria-valuetext={`${share}% (${used} of ${amount})`}
            >
              {share}%
            </meter>
            <dl class="facts budget-facts">
              <dt>Spent</dt>
              <dd>{used}</dd>
              <dt>Remaining</dt>
              <dd>{formatUsd(nanoOfUsd(budget.remaining_usd))}</dd>
              <dt>Used</dt>
              <dd>
                {share}%{state === undefined ? "" : ` — ${state}`}
              </dd>
            </dl>
          </li>
        )
      })}
    </ul>
  )
}
