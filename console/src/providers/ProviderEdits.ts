import type { ModelPrice, PriceTable } from "../api/Types.js"

/** The providers page's forms → the management API's payloads: pure, so tested without a browser. */

/** Model ids typed one per line or comma-separated: trimmed, empty ones and repeats dropped. */
export const parseModelList = (text: string): ReadonlyArray<string> => [
  ...new Set(
    text
      .split(/[\n,]/)
      .map((model) => model.trim())
      .filter((model) => model !== ""),
  ),
]

/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/
/** The same for an input's `pattern` (compiled with the `v` flag: `|` and `-` escaped in the class). */
export const HEADER_NAME_PATTERN = "[!#$%&'*+.^_`\\|~0-9A-Za-z\\-]{1,256}"

/**
 * The `custom_headers` of a PATCH: every stored header not removed, sent back with its masked
 * value (the API keeps the stored value for it), plus the one set, whose value replaces any
 * stored one. A header named like a stored one in another case replaces it too.
 */
export const headersPatch = (
  masked: Readonly<Record<string, string>>,
  removed: ReadonlySet<string>,
  set?: { readonly name: string; readonly value: string },
): Record<string, string> => {
  const out: Record<string, string> = {}
  const replaced = set?.name.trim().toLowerCase()
  for (const [name, value] of Object.entries(masked)) {
    if (removed.has(name) || name.toLowerCase() === replaced) continue
    out[name] = value
  }
  if (set !== undefined) out[set.name.trim()] = set.value
  return out
}

/** A price typed in a form (USD per million tokens): a number ≥ 0, or undefined when left empty. */
export const parsePrice = (text: string): number | undefined | "invalid" => {
  const trimmed = text.trim()
  if (trimmed === "") return undefined
  const value = Number(trimmed)
  return Number.isFinite(value) && value >= 0 && /^\d*\.?\d*$/.test(trimmed) ? value : "invalid"
}

export interface PriceForm {
  readonly model: string
  readonly input: string
  readonly output: string
  readonly cachedInput: string
}

/**
 * The price table with one model's prices set (other fields of its entry, e.g. `reasoning`, kept);
 * an error message when the form is not complete or not numbers.
 */
export const withPrice = (table: PriceTable | null, form: PriceForm): PriceTable | string => {
  const model = form.model.trim()
  if (model === "") return "Name the model (or * for every other model)."
  const input = parsePrice(form.input)
  const output = parsePrice(form.output)
  const cached = parsePrice(form.cachedInput)
  if (input === undefined || output === undefined) return "Input and output prices are required."
  if (input === "invalid" || output === "invalid" || cached === "invalid")
    return "Prices are numbers of US dollars per million tokens, e.g. 0.15."
  const { cached_input: _dropped, ...kept } = table?.[model] ?? ({} as Partial<ModelPrice>)
  const price: ModelPrice = { ...kept, input, output, ...(cached === undefined ? {} : { cached_input: cached }) }
  return { ...table, [model]: price }
}

/** The price table without `model`; `null` (no overrides) once it is empty. */
export const withoutPrice = (table: PriceTable | null, model: string): PriceTable | null => {
  const { [model]: _removed, ...rest } = table ?? {}
  return Object.keys(rest).length === 0 ? null : rest
}

/** The table's rows, `*` last. */
export const priceRows = (table: PriceTable | null): ReadonlyArray<readonly [string, ModelPrice]> =>
  Object.entries(table ?? {}).sort(([a], [b]) => (a === "*" ? 1 : b === "*" ? -1 : a.localeCompare(b)))
