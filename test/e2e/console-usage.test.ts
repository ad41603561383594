import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { type ConsoleBrowser, chromiumAvailable, startConsoleBrowser } from "../support/ConsoleBrowser.js"

/**
 * The console's usage page in chromium (test/support/ConsoleBrowser.ts): requests sent through
 * the gateway with two API keys (one with a budget) and the master key to a mock provider with
 * its own prices, then the page's totals, charts, budgets, breakdowns and phone layout; and a
 * non-superuser who sees only their own usage.
 */
describe.skipIf(!chromiumAvailable)("console usage page in chromium", () => {
  let mock: MockProvider
  let ui: ConsoleBrowser
  let page: ConsoleBrowser["page"]
  const tokens: Array<string> = []
  const other = { username: "carol", password: `carol-${randomBytes(8).toString("hex")}` }

  const manage = async (method: string, path: string, body?: unknown) => {
    const response = await ui.manage(method, path, body)
    const text = await response.text()
    expect(response.ok, `${method} ${path}: ${response.status} ${text}`).toBe(true)
    return text === "" ? undefined : JSON.parse(text)
  }

  /** One chat completion with `token`, the mock reporting `usage`. */
  const chat = async (token: string, model: string, usage: { inputTokens: number; outputTokens: number }) => {
    mock.script({ usage })
    const response = await fetch(ui.url("/v1/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    })
    expect(response.status, await response.clone().text()).toBe(200)
    await response.text()
  }

  const table = (name: RegExp | string) => page.getByRole("table", { name })
  const rowOf = (name: string) =>
    table(/^Totals by/)
      .getByRole("row")
      .filter({ has: page.getByRole("rowheader", { name, exact: true }) })

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["house-model", "cheap-model", "mystery-model"] })
    ui = await startConsoleBrowser()
    page = ui.page
    await manage("POST", "/providers", {
      id: "mock",
      base_url: mock.url,
      keys: [{ key: "sk-mock" }],
      models: ["house-model", "cheap-model", "mystery-model"],
      // USD per million tokens, plus per request; mystery-model has no price.
      prices: {
        "house-model": { input: 0.5, output: 1.5, request: 0.001 },
        "cheap-model": { input: 0.1, output: 0.2 },
      },
    })
    const users = (await manage("GET", "/users")) as Array<{ id: string; username: string }>
    const adminId = users.find((user) => user.username === ui.admin.username)!.id
    const billing = await manage("POST", `/users/${adminId}/api-keys`, {
      name: "billing",
      budget: { amount_usd: "0.01", period: "day" },
    })
    const search = await manage("POST", `/users/${adminId}/api-keys`, { name: "search" })
    await manage("PUT", `/users/${adminId}/budget`, { amount_usd: "2.5", period: "month" })
    const carol = await manage("POST", "/users", { ...other, email: "carol@example.com" })
    const carolKey = await manage("POST", `/users/${carol.id}/api-keys`, { name: "carol-app" })
    tokens.push(billing.token, search.token, carolKey.token)

    // billing: 2 × (1 000 × $0.50 + 2 000 × $1.50 per million + $0.001) = $0.009 of its $0.01 a day.
    await chat(billing.token, "house-model", { inputTokens: 1_000, outputTokens: 2_000 })
    await chat(billing.token, "house-model", { inputTokens: 1_000, outputTokens: 2_000 })
    // search: 1 000 × $0.10 + 1 000 × $0.20 per million = $0.0003.
    await chat(search.token, "cheap-model", { inputTokens: 1_000, outputTokens: 1_000 })
    // The master key, an unpriced model.
    await chat(ui.gateway.masterKey, "mystery-model", { inputTokens: 10, outputTokens: 10 })
    // carol's key: $0.0045.
    await chat(carolKey.token, "house-model", { inputTokens: 1_000, outputTokens: 2_000 })
  }, 120_000)

  afterAll(async () => {
    await ui?.close()
    await mock?.close()
  })

  it("by key over 24 hours: each key's totals, exact costs, the grand total; three charts with their legends", async () => {
    await page.goto(ui.url("/ui/"))
    await ui.signIn()
    await ui.nav("Usage").click()
    await page.getByRole("heading", { name: "Usage", level: 1 }).waitFor()
    await expect.poll(() => page.title()).toBe("Usage · APIProxy")
    await rowOf("billing").waitFor()

    const cells = async (name: string) =>
      (await rowOf(name).getByRole("cell").allTextContents()).map((text) => text.replace(/^[^:]*: /, ""))
    // Requests, input tokens, output tokens, cost, unpriced requests.
    expect(await cells("billing")).toEqual(["2", "2,000", "4,000", "$0.009", "0"])
    expect(await cells("search")).toEqual(["1", "1,000", "1,000", "$0.0003", "0"])
    expect(await cells("Master key")).toEqual(["1", "10", "10", "no price", "1"])
    // Another user's key is named with its owner.
    expect(await cells("carol / carol-app")).toEqual(["1", "1,000", "2,000", "$0.0045", "0"])
    expect(await cells("Total")).toEqual(["5", "4,010", "7,010", "$0.0138", "1"])
    await page.getByRole("status").filter({ hasText: "5 requests, $0.0138." }).waitFor()

    const charts = page.locator("figure.chart")
    await expect.poll(() => charts.count()).toBe(3)
    expect(await charts.locator("h3").allTextContents()).toEqual(["Requests", "Tokens (input + output)", "Cost (USD)"])
    for (const chart of await charts.all()) {
      const canvas = chart.locator("canvas")
      expect(await canvas.getAttribute("role")).toBe("img")
      expect(await canvas.getAttribute("aria-label")).toMatch(/per hour by API key/)
      const box = (await canvas.boundingBox())!
      expect(box.width).toBeGreaterThan(200)
      const legend = await chart.locator(".u-legend .u-series .u-label").allTextContents()
      expect(legend).toEqual(["Time (UTC)", "billing", "carol / carol-app", "Master key", "search"].sort(byRequests))
    }
    await ui.shoot("usage")
  })

  it("budgets: the key's and the user's limit, spent and remaining, with a bar of the share used", async () => {
    const key = page.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "Key billing" }) })
    const meter = key.getByRole("meter", { name: "Key billing: budget used" })
    await expect.poll(() => meter.getAttribute("value")).toBe("90")
    expect(await meter.getAttribute("max")).toBe("100")
    expect(await meter.getAttribute("aria-valuetext")).toBe("90% ($0.009 of $0.01)")
    expect(await key.textContent()).toContain("$0.01 per UTC day")
    expect(await key.locator("dd").allTextContents()).toEqual(["$0.009", "$0.001", "90%"])
    expect((await meter.boundingBox())!.width).toBeGreaterThan(200)

    const user = page
      .getByRole("listitem")
      .filter({ has: page.getByRole("heading", { name: `User ${ui.admin.username}` }) })
    expect(await user.textContent()).toContain("$2.50 per month")
    // The user's budget counts all their keys: $0.009 + $0.0003.
    expect(await user.locator("dd").allTextContents()).toEqual(["$0.0093", "$2.4907", "0.3%"])
  })

  it("by model and by provider, and over 7 days by day with the per-day figures", async () => {
    await page.getByLabel("Break down by").selectOption("model")
    await page.getByRole("heading", { name: "Totals by model" }).waitFor()
    await rowOf("house-model").waitFor()
    expect(await rowOf("house-model").getByRole("cell").first().textContent()).toContain("3")
    expect(await rowOf("mystery-model").textContent()).toContain("no price")
    expect(await page.locator("figure.chart").first().locator(".u-legend").textContent()).toContain("cheap-model")

    await page.getByLabel("Break down by").selectOption("provider")
    await rowOf("mock").waitFor()
    expect(await rowOf("mock").textContent()).toContain("$0.0138")

    await page.getByLabel("Range").selectOption("7d")
    await page.getByRole("status").filter({ hasText: "Last 7 days, by day" }).waitFor()
    await page.locator("summary", { hasText: "Figures per day" }).click()
    const today = new Date().toISOString().slice(0, 10)
    const perDay = table(/^Figures per day/)
    await perDay.getByRole("rowheader", { name: today }).first().waitFor()
    expect(await perDay.getByRole("row").filter({ hasText: "mock" }).textContent()).toContain("$0.0138")
    expect(await page.locator("figure.chart canvas").first().getAttribute("aria-label")).toMatch(/per day by provider/)
  })

  it("at phone width: one column, no sideways scroll, charts within the screen", async () => {
    await page.getByLabel("Range").selectOption("24h")
    await page.getByLabel("Break down by").selectOption("key")
    await page.setViewportSize({ width: 390, height: 844 })
    await rowOf("billing").waitFor()
    await expect.poll(() => page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390)
    await page.getByRole("status").filter({ hasText: "Last 24 hours, by hour" }).waitFor()
    const canvases = page.locator('figure.chart canvas[aria-label*="per hour by API key"]')
    await expect.poll(() => canvases.count()).toBe(3)
    for (const canvas of await canvases.all()) {
      await canvas.scrollIntoViewIfNeeded()
      const box = (await canvas.boundingBox())!
      expect(box.x).toBeGreaterThanOrEqual(0)
      expect(box.x + box.width).toBeLessThanOrEqual(390)
    }
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it("a non-superuser sees only their own keys' usage and no one else's budget", async () => {
    await page.getByRole("button", { name: "Sign out" }).click()
    await ui.signIn(other)
    await ui.nav("Usage").click()
    await rowOf("carol-app").waitFor()
    expect(await rowOf("Total").textContent()).toContain("$0.0045")
    const text = (await page.locator("main").textContent()) ?? ""
    expect(text).not.toContain("billing")
    expect(text).not.toContain("Master key")
    expect(text).toContain("No budget is set on your account or your keys.")
  })

  it("no request left loopback, no page error, and no API key token was ever shown", async () => {
    await ui.record()
    expect(ui.blocked).toEqual([])
    expect(ui.pageErrors).toEqual([])
    for (const token of tokens) expect(ui.seen.some((text) => text.includes(token))).toBe(false)
  })
})

/** The legend's order: the time, then groups by requests (billing 2, then 1 each by label). */
function byRequests(a: string, b: string): number {
  const rank = (label: string) => (label === "Time (UTC)" ? 0 : label === "billing" ? 1 : 2)
  return rank(a) - rank(b) || a.localeCompare(b)
}
