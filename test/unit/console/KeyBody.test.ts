import { describe, expect, it } from "vitest"
import type { OffsetAt } from "../../../console/src/api/LocalTime.js"
import type { ApiKey } from "../../../console/src/api/Types.js"
import {
  createBodyOf,
  formOfKey,
  type KeyForm,
  NEW_KEY_FORM,
  providerIdsOf,
  updateOf,
} from "../../../console/src/pages/keys/KeyBody.js"
import { allowListText, budgetText, limitsText } from "../../../console/src/pages/keys/KeyText.js"

const paris: OffsetAt = () => -60

const KEY: ApiKey = {
  id: "k1",
  user_id: "u1",
  name: "billing",
  key_prefix: "sk-abc",
  expiry_type: "date",
  expires_at: "2030-01-31T16:00:00.000Z",
  is_active: true,
  allowed_provider_ids: ["mock"],
  requests_per_minute: 60,
  tokens_per_minute: null,
  budget: { amount_usd: "10.00", period: "day", soft: false },
  created_at: "2029-01-01T00:00:00.000Z",
}

const form = (changes: Partial<KeyForm>): KeyForm => ({ ...NEW_KEY_FORM, name: " app ", ...changes })

describe("the create form's body", () => {
  it("sends only what is set: a name and the lifetime by default", () => {
    expect(createBodyOf(form({}))).toEqual({ ok: true, value: { name: "app", expiry: "never" } })
  })

  it("sends an exact expiry in UTC, the allow-list, limits and a budget", () => {
    const body = createBodyOf(
      form({
        expiry: "date",
        expiresLocal: "2030-01-31T17:00",
        restrictProviders: true,
        providers: ["mock"],
        requestsPerMinute: "1",
        tokensPerMinute: " 5000 ",
        budgetAmount: " 12.50 ",
        budgetPeriod: "week",
        budgetSoft: true,
      }),
      paris,
    )
    expect(body).toEqual({
      ok: true,
      value: {
        name: "app",
        expires_at: "2030-01-31T16:00:00.000Z",
        allowed_provider_ids: ["mock"],
        requests_per_minute: 1,
        tokens_per_minute: 5000,
        budget: { amount_usd: "12.50", period: "week", soft: true },
      },
    })
  })

  it("keeps an empty allow-list empty: the key may use no provider", () => {
    const body = createBodyOf(form({ restrictProviders: true, providers: [] }))
    expect(body.ok && body.value.allowed_provider_ids).toEqual([])
  })

  it("says which field is wrong: a limit that is not a whole number from 1, a missing date", () => {
    for (const requestsPerMinute of ["0", "1.5", "-3", "abc", "2147483648"]) {
      expect(createBodyOf(form({ requestsPerMinute }))).toEqual({
        ok: false,
        error: expect.stringMatching(/^Requests per minute: expected a whole number/),
      })
    }
    expect(createBodyOf(form({ tokensPerMinute: "x" }))).toMatchObject({ error: /^Tokens per minute/ })
    expect(createBodyOf(form({ expiry: "date", expiresLocal: "" }))).toEqual({
      ok: false,
      error: "Expires at: expected a date and a time",
    })
  })

  it("passes a budget amount as typed: the API checks it and its message is shown", () => {
    const body = createBodyOf(form({ budgetAmount: "12.5.3" }))
    expect(body.ok && body.value.budget).toEqual({ amount_usd: "12.5.3", period: "month", soft: false })
  })
})

describe("an edit's changes", () => {
  it("a key's own values change nothing", () => {
    expect(updateOf(KEY, formOfKey(KEY, paris), paris)).toEqual({
      ok: true,
      value: { key: {}, budget: { _tag: "Unchanged" } },
    })
  })

  it("the form shows the key's values, its exact expiry in local time", () => {
    expect(formOfKey(KEY, paris)).toMatchObject({
      name: "billing",
      expiry: "unchanged",
      expiresLocal: "2030-01-31T17:00",
      restrictProviders: true,
      providers: ["mock"],
      requestsPerMinute: "60",
      tokensPerMinute: "",
      budgetAmount: "10.00",
      budgetPeriod: "day",
    })
  })

  it("sends only the fields that changed", () => {
    const edited = {
      ...formOfKey(KEY, paris),
      name: "billing-2",
      restrictProviders: false,
      requestsPerMinute: "",
      tokensPerMinute: "100",
    }
    expect(updateOf(KEY, edited, paris)).toEqual({
      ok: true,
      value: {
        key: { name: "billing-2", allowed_provider_ids: null, requests_per_minute: null, tokens_per_minute: 100 },
        budget: { _tag: "Unchanged" },
      },
    })
  })

  it("re-sends a lifetime (it restarts the clock) and a moved date, but not the same date", () => {
    const base = formOfKey(KEY, paris)
    expect(updateOf(KEY, { ...base, expiry: "week" }, paris)).toMatchObject({ value: { key: { expiry: "week" } } })
    expect(updateOf(KEY, { ...base, expiry: "date" }, paris)).toMatchObject({ value: { key: {} } })
    expect(updateOf(KEY, { ...base, expiry: "date", expiresLocal: "2030-02-01T09:15" }, paris)).toMatchObject({
      value: { key: { expires_at: "2030-02-01T08:15:00.000Z" } },
    })
  })

  it("a budget goes to its own route: set when it changed, removed when emptied", () => {
    const base = formOfKey(KEY, paris)
    expect(updateOf(KEY, { ...base, budgetAmount: "10" }, paris)).toMatchObject({
      value: { budget: { _tag: "Unchanged" } },
    })
    expect(updateOf(KEY, { ...base, budgetAmount: "20", budgetSoft: true }, paris)).toMatchObject({
      value: { key: {}, budget: { _tag: "Set", body: { amount_usd: "20", period: "day", soft: true } } },
    })
    expect(updateOf(KEY, { ...base, budgetAmount: "" }, paris)).toMatchObject({ value: { budget: { _tag: "Remove" } } })
  })

  it("an allow-list in another order is the same list", () => {
    const key = { ...KEY, allowed_provider_ids: ["a", "b"] }
    expect(updateOf(key, { ...formOfKey(key, paris), providers: ["b", "a"] }, paris)).toMatchObject({
      value: { key: {} },
    })
  })
})

describe("provider ids typed in a field", () => {
  it("are split on commas and spaces, each once", () => {
    expect(providerIdsOf(" openai, anthropic  openai,,")).toEqual(["openai", "anthropic"])
    expect(providerIdsOf("  ")).toEqual([])
  })
})

describe("the key list's words", () => {
  it("say what a key may use, its limits and its budget", () => {
    expect(allowListText(null)).toBe("every provider")
    expect(allowListText([])).toBe("no provider")
    expect(allowListText(["a", "b"])).toBe("a, b")
    expect(limitsText({ requests_per_minute: null, tokens_per_minute: null })).toBe("none")
    expect(limitsText({ requests_per_minute: 1, tokens_per_minute: 20000 })).toBe("1 request/min, 20,000 tokens/min")
    expect(budgetText(null)).toBe("none")
    expect(budgetText({ amount_usd: "12.50", period: "week", soft: true })).toBe("$12.50 a week (soft)")
    expect(budgetText({ amount_usd: "5.00", period: "total", soft: false })).toBe("$5.00 in total")
  })
})
