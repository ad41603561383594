import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { type ConsoleBrowser, chromiumAvailable, startConsoleBrowser } from "../support/ConsoleBrowser.js"

/**
 * The providers page in a real browser (test/support/ConsoleBrowser.ts), against the real gateway
 * and two mock providers: edit a provider, disable and enable it, its live health (circuits, keys'
 * back-off, last discovery — a failed one shown with its reason), rotate a key, models and price
 * overrides. Key and header values are written once and never shown again.
 */
describe.skipIf(!chromiumAvailable)("console: providers page", () => {
  const secret = (name: string) => `sk-${name}-${randomBytes(12).toString("hex")}`
  const firstKey = secret("first")
  const rotatedKey = secret("rotated")
  const wrongKey = secret("wrong")
  const headerValue = secret("header")
  const secrets = [firstKey, rotatedKey, wrongKey, headerValue]
  let before: MockProvider
  let after: MockProvider
  let ui: ConsoleBrowser
  let page: ConsoleBrowser["page"]

  const row = (id: string) => page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: id }) })
  const detail = () => page.getByRole("region", { name: /^Provider edit-me/ })
  const status = (text: string | RegExp) => page.getByRole("status").filter({ hasText: text }).waitFor()
  /** The provider as the API stores it. */
  const stored = async () =>
    (await (await ui.manage("GET", "/providers/edit-me")).json()) as {
      readonly models: unknown
      readonly prices: unknown
    }
  const chat = (model: string) =>
    fetch(ui.url("/v1/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${ui.gateway.masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    })

  beforeAll(async () => {
    const models = ["gpt-4o-mini", "gpt-4o"]
    before = await startMockProvider({ models, apiKeys: [firstKey] })
    before.setDefault({ errorMessage: `Incorrect API key provided: ${wrongKey}` })
    after = await startMockProvider({ models, apiKeys: [firstKey, rotatedKey] })
    ui = await startConsoleBrowser({ env: { CIRCUIT_FAILURE_THRESHOLD: "2", CIRCUIT_COOLDOWN: "60 seconds" } })
    page = ui.page
    // The page's timers run on a clock the health test can move on (time flows as usual otherwise).
    await page.clock.install()
  })

  afterAll(async () => {
    await ui?.close()
    await before?.close()
    await after?.close()
  })

  it("adds a provider on the page; one with a wrong key shows its failed discovery and its key backing off", async () => {
    const added = await ui.manage("POST", "/providers", {
      id: "wrong-key",
      base_url: before.url,
      keys: [{ key: wrongKey, label: "bad" }],
    })
    expect(added.status).toBe(201)
    await page.goto(ui.url("/ui/providers"))
    await ui.signIn()
    await page.getByLabel("Id", { exact: true }).fill("edit-me")
    await page.getByLabel("Base URL", { exact: true }).fill(before.url)
    await page.getByLabel("API key", { exact: true }).fill(firstKey)
    await page.getByRole("button", { name: "Add provider" }).click()
    await status("Provider edit-me added.")
    await row("edit-me")
      .getByText(/^healthy · \d+ ms$/)
      .waitFor()
    await row("edit-me")
      .getByText(/Discovery: 2 models, just now/)
      .waitFor()
    await row("wrong-key")
      .getByText(/Discovery: failed .*: HTTP 401: Incorrect API key provided: \[redacted\]/)
      .waitFor()
    // The probe was refused for the key: its back-off shows.
    await row("wrong-key")
      .getByText(/^degraded · \d+ ms$/)
      .waitFor()
    await row("wrong-key")
      .getByText(/back-off: backing off · \d+ s left \(1 failure\)/)
      .waitFor()
    expect(await row("edit-me").textContent()).toContain("back-off: ready")
  })

  it("edits the name, base URL and a custom header (write-only, shown masked)", async () => {
    await page.getByRole("button", { name: "Manage edit-me" }).click()
    await detail().waitFor()
    await detail().getByLabel("Display name", { exact: true }).fill("Edited provider")
    await detail().getByLabel("Provider base URL", { exact: true }).fill(after.url)
    await detail().getByLabel("Header name", { exact: true }).fill("X-Org-Token")
    await detail().getByLabel("Header value", { exact: true }).fill(headerValue)
    await detail().getByRole("button", { name: "Save settings" }).click()
    await status("Provider edit-me saved.")
    expect(await detail().getByLabel("Header value", { exact: true }).inputValue()).toBe("")
    await detail()
      .getByText(`…${headerValue.slice(-4)}`)
      .waitFor()
    await row("edit-me").getByText("Edited provider").waitFor()
    expect(await row("edit-me").textContent()).toContain(after.url)

    const answer = await chat("edit-me/gpt-4o-mini")
    expect(answer.status).toBe(200)
    const received = after.received.at(-1)!
    expect(received.path).toBe("/v1/chat/completions")
    expect(received.headers["x-org-token"]).toBe(headerValue)
    expect(received.headers.authorization).toBe(`Bearer ${firstKey}`)
    await detail()
      .getByRole("heading", { name: /^Provider edit-me/ })
      .evaluate((heading) => heading.scrollIntoView({ block: "start" }))
    await ui.shoot("provider-detail")
  })

  it("disables the provider: shown disabled, its model refused; enabled again, it serves", async () => {
    await detail().getByRole("button", { name: "Disable edit-me" }).click()
    await status("Provider edit-me disabled.")
    await row("edit-me").getByText("disabled", { exact: true }).waitFor()
    await detail().getByText("disabled: no request goes to it").waitFor()
    const count = after.count
    const refused = await chat("edit-me/gpt-4o-mini")
    expect(refused.status).toBeGreaterThanOrEqual(400)
    expect(after.count).toBe(count)

    await detail().getByRole("button", { name: "Enable edit-me" }).click()
    await status("Provider edit-me enabled.")
    await expect.poll(() => row("edit-me").getByText("disabled", { exact: true }).count()).toBe(0)
    expect((await chat("edit-me/gpt-4o-mini")).status).toBe(200)
    expect(after.count).toBe(count + 1)
  })

  it("health refreshes by itself: an upstream's circuit opened by failures shows with its wait", async () => {
    await detail()
      .getByText(/Circuit closed \(\d+ closed\)/)
      .waitFor()
    after.setDefault({ status: 503 })
    for (let i = 0; i < 2; i++) expect((await chat("edit-me/gpt-4o")).status).toBeGreaterThanOrEqual(500)
    after.setDefault(undefined)
    // No click: the page reads the metrics again on its 10 s timer (METRICS_EVERY_MS; every
    // sixth round probes instead, not yet due), here fired by moving the page's clock on.
    const tripped = detail().getByRole("list", { name: "Upstreams whose circuit is not closed" })
    await page.clock.fastForward(10_000)
    await tripped.getByText("gpt-4o").waitFor()
    expect(await tripped.textContent()).toMatch(/gpt-4o: open · retry in \d+ s/)
    await row("edit-me")
      .getByText(/open · retry in \d+ s \(1 of \d+ not closed\)/)
      .waitFor()
  }, 30_000)

  it("rotates a key: the provider receives the new value, only its last four shown", async () => {
    const keys = row("edit-me")
    await keys.getByText("Rotate", { exact: true }).click()
    await keys.getByLabel("New value for default", { exact: true }).fill(rotatedKey)
    await keys.getByRole("button", { name: "Rotate key" }).click()
    await status(`Key default of edit-me rotated (now …${rotatedKey.slice(-4)}).`)
    expect(await keys.getByLabel("New value for default", { exact: true }).inputValue()).toBe("")
    await keys.getByText(`…${rotatedKey.slice(-4)}`).waitFor()
    expect(await keys.textContent()).not.toContain(`…${firstKey.slice(-4)}`)
    expect((await chat("edit-me/gpt-4o-mini")).status).toBe(200)
    expect(after.received.at(-1)!.headers.authorization).toBe(`Bearer ${rotatedKey}`)
  })

  it("lists the models in use, sets a static list, and a price override", async () => {
    const models = detail().getByRole("list", { name: "Models of edit-me in use" })
    await models.getByText("gpt-4o-mini", { exact: true }).waitFor()
    expect(await detail().textContent()).toContain("discovered from the provider")
    await detail().getByLabel("Static models", { exact: true }).fill("gpt-4o-mini\ngpt-4o, gpt-4o-mini")
    await detail().getByRole("button", { name: "Save models" }).click()
    await status("Static models of edit-me saved (2).")
    await detail().getByText("static list", { exact: true }).waitFor()
    expect((await stored()).models).toEqual(["gpt-4o-mini", "gpt-4o"])

    await detail().getByLabel("Priced model", { exact: true }).fill("gpt-4o-mini")
    await detail().getByLabel("Input $/M tokens", { exact: true }).fill("abc")
    await detail().getByLabel("Output $/M tokens", { exact: true }).fill("0.6")
    await detail().getByRole("button", { name: "Set price" }).click()
    await detail().getByRole("alert").filter({ hasText: "Prices are numbers" }).waitFor()
    await detail().getByLabel("Input $/M tokens", { exact: true }).fill("0.15")
    await detail().getByLabel("Cached input $/M tokens", { exact: true }).fill("0.075")
    await detail().getByRole("button", { name: "Set price" }).click()
    await status("Price of gpt-4o-mini on edit-me saved.")
    const prices = detail().getByRole("table", { name: /Price overrides of edit-me/ })
    const priced = prices.getByRole("row").filter({ hasText: "gpt-4o-mini" })
    await priced.waitFor()
    expect(await priced.textContent()).toMatch(/\$0\.15.*\$0\.6.*\$0\.075/)
    expect((await stored()).prices).toEqual({
      "gpt-4o-mini": { input: 0.15, output: 0.6, cached_input: 0.075 },
    })
    await detail()
      .getByRole("heading", { name: "Models" })
      .evaluate((heading) => heading.scrollIntoView({ block: "start" }))
    await ui.shoot("provider-models")
  })

  it("fits a phone-width screen with the detail open", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await detail().waitFor()
    const widths = await page.evaluate<Array<number>>(
      "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
    )
    expect(widths[0]!).toBeLessThanOrEqual(widths[1]!)
    await ui.record()
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it("never displayed a key or header value, reached no other origin, met no script error", () => {
    expect(ui.seen.length).toBeGreaterThan(5)
    // The masked form shows the last four characters: anything longer is a leak.
    expect(ui.seen.filter((text) => secrets.some((value) => text.includes(value.slice(0, -4))))).toEqual([])
    expect(ui.blocked).toEqual([])
    expect(ui.pageErrors).toEqual([])
  })
})
