import { describe, expect, it } from "vitest"
import {
  HEADER_NAME,
  HEADER_NAME_PATTERN,
  headersPatch,
  parseModelList,
  parsePrice,
  priceRows,
  withoutPrice,
  withPrice,
} from "../../../console/src/providers/ProviderEdits.js"

describe("the providers page's payloads", () => {
  it("reads a model list one per line or comma-separated, without blanks or repeats", () => {
    expect(parseModelList(" a, b\n\nc ,a\n")).toEqual(["a", "b", "c"])
    expect(parseModelList("  \n , ")).toEqual([])
  })

  it("sends stored headers back masked (kept), drops removed ones, sets one (any case replaces)", () => {
    const masked = { "X-Org": "…abcd", "X-Team": "…" }
    expect(headersPatch(masked, new Set())).toEqual(masked)
    expect(headersPatch(masked, new Set(["X-Team"]))).toEqual({ "X-Org": "…abcd" })
    expect(headersPatch(masked, new Set(), { name: " x-org ", value: "new-secret" })).toEqual({
      "X-Team": "…",
      "x-org": "new-secret",
    })
    // The input's pattern is compiled as browsers do (`v` flag, whole value) and agrees with HEADER_NAME.
    const asBrowsers = new RegExp(`^(?:${HEADER_NAME_PATTERN})$`, "v")
    for (const good of ["X-Org", "x_custom.1", "A|B~C"]) {
      expect(HEADER_NAME.test(good)).toBe(true)
      expect(asBrowsers.test(good)).toBe(true)
    }
    for (const bad of ["", "X Org", "X:Org", "X-Org\r\nEvil: 1"]) {
      expect(HEADER_NAME.test(bad)).toBe(false)
      expect(asBrowsers.test(bad)).toBe(false)
    }
  })

  it("reads prices: empty is undefined, numbers ≥ 0 only", () => {
    expect(parsePrice(" ")).toBeUndefined()
    expect(parsePrice("0.15")).toBe(0.15)
    expect(parsePrice("2")).toBe(2)
    for (const bad of ["-1", "abc", "1e3", "Infinity", "0x10"]) expect(parsePrice(bad)).toBe("invalid")
  })

  it("sets one model's price, keeping the others and the entry's other fields", () => {
    const table = { a: { input: 1, output: 2, cached_input: 0.5, reasoning: 3 }, b: { input: 4, output: 5 } }
    expect(withPrice(table, { model: " a ", input: "1.5", output: "2.5", cachedInput: "" })).toEqual({
      a: { input: 1.5, output: 2.5, reasoning: 3 },
      b: { input: 4, output: 5 },
    })
    expect(withPrice(null, { model: "*", input: "0", output: "1", cachedInput: "0.1" })).toEqual({
      "*": { input: 0, output: 1, cached_input: 0.1 },
    })
  })

  it("refuses an incomplete or non-numeric price form with a message", () => {
    expect(withPrice(null, { model: "", input: "1", output: "1", cachedInput: "" })).toMatch(/model/)
    expect(withPrice(null, { model: "a", input: "", output: "1", cachedInput: "" })).toMatch(/required/)
    expect(withPrice(null, { model: "a", input: "1", output: "x", cachedInput: "" })).toMatch(/numbers/)
    expect(withPrice(null, { model: "a", input: "1", output: "1", cachedInput: "-2" })).toMatch(/numbers/)
  })

  it("removes a model's price; the table is null once empty; rows sorted, * last", () => {
    const table = { "*": { input: 1, output: 1 }, b: { input: 2, output: 2 }, a: { input: 3, output: 3 } }
    expect(withoutPrice(table, "b")).toEqual({ "*": { input: 1, output: 1 }, a: { input: 3, output: 3 } })
    expect(withoutPrice({ a: { input: 1, output: 1 } }, "a")).toBeNull()
    expect(withoutPrice(null, "a")).toBeNull()
    expect(priceRows(table).map(([model]) => model)).toEqual(["a", "b", "*"])
    expect(priceRows(null)).toEqual([])
  })
})
