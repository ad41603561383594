import { useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { PriceTable, Provider } from "../api/Types.js"
import { Field, messageOf, Notice, useSubmit } from "../Controls.js"
import { priceRows, withoutPrice, withPrice } from "../providers/ProviderEdits.js"

const usd = (value: number | undefined) => (value === undefined ? "—" : `$${value}`)

/**
 * A provider's price overrides (its `prices` setting, USD per million tokens): listed, set per
 * model (or `*` for every other model), removed. They win over the shipped prices for this
 * provider's answers.
 */
export const ProviderPrices = ({
  session,
  provider,
  models,
  onChanged,
}: {
  readonly session: Session
  readonly provider: Provider
  /** Model ids to suggest. */
  readonly models: ReadonlyArray<string>
  readonly onChanged: (message: string) => void
}) => {
  const path = `/providers/${encodeURIComponent(provider.id)}`
  const [model, setModel] = useState("")
  const [input, setInput] = useState("")
  const [output, setOutput] = useState("")
  const [cachedInput, setCachedInput] = useState("")
  const save = useSubmit(async () => {
    const prices = withPrice(provider.prices, { model, input, output, cachedInput })
    if (typeof prices === "string") throw new Error(prices)
    await session.request<Provider>("PATCH", path, { prices })
    setModel("")
    setInput("")
    setOutput("")
    setCachedInput("")
    onChanged(`Price of ${model.trim()} on ${provider.id} saved.`)
  })
  const [removeError, setRemoveError] = useState<string | undefined>(undefined)
  const remove = async (name: string) => {
    setRemoveError(undefined)
    try {
      const prices: PriceTable | null = withoutPrice(provider.prices, name)
      await session.request<Provider>("PATCH", path, { prices })
      onChanged(`Price override of ${name} on ${provider.id} removed.`)
    } catch (failure) {
      setRemoveError(messageOf(failure))
    }
  }
  const rows = priceRows(provider.prices)
  const listId = `price-models-${provider.id}`
  return (
    <div class="card">
      <h3>Price overrides</h3>
      {rows.length === 0 ? (
        <p class="hint">None: the shipped prices apply.</p>
      ) : (
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">Price overrides of {provider.id}, USD per million tokens</caption>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Input</th>
                <th scope="col">Output</th>
                <th scope="col">Cached input</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([name, price]) => (
                <tr key={name}>
                  <th scope="row">
                    <code>{name}</code>
                  </th>
                  <td data-label="Input">{usd(price.input)}</td>
                  <td data-label="Output">{usd(price.output)}</td>
                  <td data-label="Cached input">{usd(price.cached_input)}</td>
                  <td>
                    <button
                      type="button"
                      class="link"
                      onClick={() => remove(name)}
                      aria-label={`Remove the price override of ${name}`}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {removeError === undefined ? null : <Notice kind="error">{removeError}</Notice>}
      <form onSubmit={save.submit} autocomplete="off" aria-label={`Set a price of ${provider.id}`}>
        <div class="grid">
          <Field label="Priced model" value={model} onValue={setModel} required list={listId} hint="A model id, or *" />
          <Field label="Input $/M tokens" value={input} onValue={setInput} required inputMode="decimal" />
          <Field label="Output $/M tokens" value={output} onValue={setOutput} required inputMode="decimal" />
          <Field
            label="Cached input $/M tokens"
            value={cachedInput}
            onValue={setCachedInput}
            inputMode="decimal"
            hint="Optional; the input price when empty"
          />
        </div>
        <datalist id={listId}>
          {models.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
        {save.error === undefined ? null : <Notice kind="error">{save.error}</Notice>}
        <button type="submit" disabled={save.busy}>
          Set price
        </button>
      </form>
    </div>
  )
}
