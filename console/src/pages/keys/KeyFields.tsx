import { useState } from "preact/hooks"
import type { BudgetPeriod } from "../../api/Types.js"
import { Checkbox } from "../../Checkbox.js"
import { Field, Select } from "../../Controls.js"
import { type ExpiryChoice, type KeyForm, providerIdsOf } from "./KeyBody.js"

const LIFETIMES = [
  ["never", "Never"],
  ["week", "In a week"],
  ["month", "In a month"],
  ["year", "In a year"],
  ["date", "At a date and time"],
] as const

const PERIODS = [
  ["day", "A day (UTC)"],
  ["week", "A week (from Monday, UTC)"],
  ["month", "A month (UTC)"],
  ["total", "In total (never resets)"],
] as const

const LIMITS = [
  ["requestsPerMinute", "Requests per minute"],
  ["tokensPerMinute", "Tokens per minute"],
] as const

const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone

/**
 * The fields of a key's settings: expiry, provider allow-list, limits and budget. `providers` are
 * the gateway's provider ids to tick (a superuser may list them); without them the ids are typed.
 * `current` is an edit's present expiry, offered as "unchanged".
 */
export const KeyFields = ({
  form,
  onForm,
  providers,
  current,
  idPrefix,
}: {
  readonly form: KeyForm
  readonly onForm: (form: KeyForm) => void
  readonly providers: ReadonlyArray<string> | undefined
  readonly current?: string
  readonly idPrefix: string
}) => {
  const set =
    <K extends keyof KeyForm>(field: K) =>
    (value: KeyForm[K]) =>
      onForm({ ...form, [field]: value })
  const [typed, setTyped] = useState(form.providers.join(", "))
  const expiries = current === undefined ? LIFETIMES : [["unchanged", `Unchanged (${current})`] as const, ...LIFETIMES]
  const toggle = (id: string, on: boolean) =>
    set("providers")(on ? [...form.providers, id] : form.providers.filter((entry) => entry !== id))
  return (
    <>
      <div class="grid">
        <Select
          label="Expires"
          value={form.expiry}
          onValue={(value) => set("expiry")(value as ExpiryChoice)}
          options={expiries}
        />
        {form.expiry === "date" ? (
          <Field
            label="Expires at"
            type="datetime-local"
            value={form.expiresLocal}
            onValue={set("expiresLocal")}
            required
            hint={`Your browser's time (${ZONE}); the gateway stores it in UTC`}
          />
        ) : null}
        {LIMITS.map(([field, label]) => (
          <Field
            key={field}
            label={label}
            inputMode="numeric"
            value={form[field]}
            onValue={set(field)}
            hint="Empty: no limit"
          />
        ))}
      </div>
      <fieldset>
        <legend>Providers it may use</legend>
        <div class="row">
          <label class="choice">
            <input
              type="radio"
              name={`${idPrefix}-allow`}
              checked={!form.restrictProviders}
              onChange={() => set("restrictProviders")(false)}
            />{" "}
            Every provider
          </label>
          <label class="choice">
            <input
              type="radio"
              name={`${idPrefix}-allow`}
              checked={form.restrictProviders}
              onChange={() => set("restrictProviders")(true)}
            />{" "}
            Only these
          </label>
        </div>
        {!form.restrictProviders ? null : providers === undefined ? (
          <Field
            label="Provider ids"
            value={typed}
            onValue={(text) => {
              setTyped(text)
              set("providers")(providerIdsOf(text))
            }}
            hint="Separated by commas, e.g. openai, anthropic. None: the key may use no provider."
          />
        ) : providers.length === 0 ? (
          <p class="hint">The gateway has no provider yet: the key may use none.</p>
        ) : (
          <div class="row">
            {providers.map((id) => (
              <Checkbox key={id} label={id} checked={form.providers.includes(id)} onChecked={(on) => toggle(id, on)} />
            ))}
          </div>
        )}
      </fieldset>
      <fieldset>
        <legend>Budget</legend>
        <div class="grid">
          <Field
            label="Amount (USD)"
            inputMode="decimal"
            value={form.budgetAmount}
            onValue={set("budgetAmount")}
            hint="e.g. 25 or 12.50; empty: no budget"
          />
          <Select
            label="Per"
            value={form.budgetPeriod}
            onValue={(value) => set("budgetPeriod")(value as BudgetPeriod)}
            options={PERIODS}
          />
          <Checkbox
            label="Soft: count and log going over, never refuse"
            checked={form.budgetSoft}
            onChecked={set("budgetSoft")}
          />
        </div>
      </fieldset>
    </>
  )
}
