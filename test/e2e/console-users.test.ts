import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { windowOf } from "../../src/identity/RateLimit.js"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { type ConsoleBrowser, chromiumAvailable, startConsoleBrowser } from "../support/ConsoleBrowser.js"

/**
 * The console's Users page and the API keys page's expiry, allow-list, limits and budget, in a
 * real browser against the real gateway and the mock provider (test/support/ConsoleBrowser.ts).
 */
describe.skipIf(!chromiumAvailable)("console: users and API key settings", () => {
  const carol = { username: "carol", password: `carol-${randomBytes(8).toString("hex")}` }
  let mock: MockProvider
  let ui: ConsoleBrowser
  let page: ConsoleBrowser["page"]
  let token = ""

  const chat = (model: string) =>
    fetch(ui.url("/v1/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    })
  const signOut = async () => {
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.getByRole("button", { name: "Sign in" }).waitFor()
  }
  const keysOf = async (userId: string) => (await (await ui.manage("GET", `/users/${userId}/api-keys`)).json()) as any

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["gpt-4o-mini", "other-model"] })
    ui = await startConsoleBrowser()
    page = ui.page
    // Two providers: the key below may use "mock" (gpt-4o-mini) and not "other" (other-model).
    for (const [id, model] of [
      ["mock", "gpt-4o-mini"],
      ["other", "other-model"],
    ] as const) {
      const created = await ui.manage("POST", "/providers", {
        id,
        base_url: mock.url,
        models: [model],
        keys: [{ key: `sk-upstream-${id}-0123456789` }],
      })
      expect(created.status).toBe(201)
    }
  })

  afterAll(async () => {
    await ui?.close()
    await mock?.close()
  })

  it("a superuser adds a user on the Users page; the API's validation message is shown", async () => {
    await page.goto(ui.url("/ui/users"))
    await ui.signIn()
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor()
    const admin = page.getByRole("row").filter({ hasText: ui.admin.username })
    await expect.poll(() => admin.textContent()).toMatch(/superuser.*active.*you/)
    await page.getByLabel("Username", { exact: true }).fill("c d")
    await page.getByLabel("Email", { exact: true }).fill("carol@example.com")
    await page.getByLabel("Password", { exact: true }).fill(carol.password)
    await page.getByRole("button", { name: "Add user" }).click()
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/^username: expected 3 to 64/)
    await page.getByLabel("Username", { exact: true }).fill(carol.username)
    await page.getByRole("button", { name: "Add user" }).click()
    await page.getByRole("status").filter({ hasText: "User carol added." }).waitFor()
    expect(await page.getByRole("alert").count()).toBe(0)
    // The password field is emptied once the user exists.
    expect(await page.getByLabel("Password", { exact: true }).inputValue()).toBe("")
    const row = page.getByRole("row").filter({ hasText: "carol@example.com" })
    expect(await row.textContent()).toMatch(/^carolcarol@example\.comuseractive/)
    await ui.shoot("users")
  })

  it("deactivates a user (after a confirmation) and reactivates them", async () => {
    const row = page.getByRole("row").filter({ hasText: "carol@example.com" })
    await row.getByRole("button", { name: "Deactivate carol" }).click()
    await page.getByRole("status").filter({ hasText: "carol deactivated." }).waitFor()
    await expect.poll(() => row.getByRole("cell").nth(2).textContent()).toBe("inactive")
    const refused = await fetch(ui.url("/auth/login"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(carol),
    })
    expect(refused.status).toBe(403)
    await row.getByRole("button", { name: "Reactivate carol" }).click()
    await page.getByRole("status").filter({ hasText: "carol reactivated." }).waitFor()
    await expect.poll(() => row.getByRole("cell").nth(2).textContent()).toBe("active")
  })

  it("the new user signs in and sees neither Users nor Providers; /ui/users sends them to their keys", async () => {
    await signOut()
    await ui.signIn(carol)
    await page.getByRole("heading", { name: "API keys", level: 1 }).waitFor()
    expect(await ui.nav("Users").count()).toBe(0)
    expect(await ui.nav("Providers").count()).toBe(0)
    expect(await ui.nav("API keys").count()).toBe(1)
    await page.goto(ui.url("/ui/users"))
    await ui.signIn(carol)
    await page.getByRole("heading", { name: "API keys", level: 1 }).waitFor()
    expect(new URL(page.url()).pathname).toBe("/ui/keys")
    // No owner picker: a user manages their own keys only.
    expect(await page.getByLabel("Keys of").count()).toBe(0)
    await page.getByText("No key yet.").waitFor()
  })

  it("creates a key with an exact expiry, 1 request a minute and a provider allow-list", async () => {
    await page.getByLabel("Name", { exact: true }).fill("limited")
    await page.getByLabel("Expires", { exact: true }).selectOption("date")
    await page.getByLabel("Expires at", { exact: true }).fill("2031-06-15T14:30")
    await page.getByLabel("Requests per minute", { exact: true }).fill("1")
    await page.getByRole("radio", { name: "Only these" }).check()
    // A user cannot list the gateway's providers: the ids are typed.
    await page.getByLabel("Provider ids", { exact: true }).fill("mock")
    await ui.shoot("api-key-create")
    await page.getByRole("button", { name: "Create key" }).click()
    token = await page.getByLabel("The new API key", { exact: true }).inputValue()
    expect(token.length).toBeGreaterThan(20)
    await page.getByRole("button", { name: "Done" }).click()

    // The page read the time in the browser's zone and sent it in UTC.
    const meant = await page.evaluate<string>('new Date("2031-06-15T14:30").toISOString()')
    const me = (await (await ui.manage("GET", "/users")).json()) as Array<{ id: string; username: string }>
    const carolId = me.find((user) => user.username === "carol")!.id
    const [key] = await keysOf(carolId)
    expect(key).toMatchObject({
      name: "limited",
      expiry_type: "date",
      expires_at: meant,
      allowed_provider_ids: ["mock"],
      requests_per_minute: 1,
      tokens_per_minute: null,
      budget: null,
    })
    const row = page.getByRole("row").filter({ hasText: "limited" })
    const shown = await page.evaluate<string>(
      'new Date("2031-06-15T14:30").toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })',
    )
    await expect.poll(() => row.textContent()).toContain(shown)
    expect(await row.textContent()).toContain("1 request/min")
    expect(await row.getByRole("cell").nth(2).textContent()).toBe("mock")
  })

  it("the gateway applies them: a second request in the minute gets 429, another provider's model is refused", async () => {
    // The limit counts in whole minutes of the clock (identity/RateLimit's windowOf; the gateway
    // runs in this process), so both requests must fall in one: near a minute's end, wait for the
    // next; a pair the minute's end still split is sent again in the minute after.
    const nextMinute = () => new Promise((resolve) => setTimeout(resolve, windowOf(Date.now()).remainingMs + 50))
    if (windowOf(Date.now()).remainingMs < 10_000) await nextMinute()
    let before: number
    let statuses: Array<number>
    for (;;) {
      const window = windowOf(Date.now()).index
      before = mock.count
      const first = await chat("gpt-4o-mini")
      const second = await chat("gpt-4o-mini")
      statuses = [first.status, second.status]
      if (windowOf(Date.now()).index === window) break
      await nextMinute()
    }
    expect(statuses).toEqual([200, 429])
    expect(mock.count).toBe(before + 1)
    // The model list (not counted as a request) shows the allowed provider's model only.
    const models = await fetch(ui.url("/v1/models"), { headers: { authorization: `Bearer ${token}` } })
    const ids = ((await models.json()) as { data: Array<{ id: string }> }).data.map((model) => model.id)
    expect(ids).toContain("gpt-4o-mini")
    expect(ids).not.toContain("other-model")
    // With the limit lifted (this minute's request is spent), another provider's model is refused
    // before any upstream is called; then the limit is put back.
    const users = (await (await ui.manage("GET", "/users")).json()) as Array<{ id: string; username: string }>
    const carolId = users.find((user) => user.username === "carol")!.id
    const [key] = await keysOf(carolId)
    const setLimit = async (requestsPerMinute: number | null) => {
      const updated = await ui.manage("PUT", `/users/${carolId}/api-keys/${key.id}`, {
        requests_per_minute: requestsPerMinute,
      })
      expect(((await updated.json()) as { requests_per_minute: number | null }).requests_per_minute).toBe(
        requestsPerMinute,
      )
    }
    await setLimit(null)
    const other = await chat("other-model")
    expect(other.status).toBe(403)
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("provider_not_allowed")
    expect(mock.count).toBe(before + 1)
    await setLimit(1)
  }, 90_000)

  it("an API validation error in the key form is shown as the API words it", async () => {
    await page.getByLabel("Name", { exact: true }).fill("second")
    await page.getByLabel("Amount (USD)", { exact: true }).fill("12.5.3")
    await page.getByRole("button", { name: "Create key" }).click()
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/amount_usd.*expected an amount in USD/)
    expect(await page.getByLabel("The new API key", { exact: true }).count()).toBe(0)
    await page.getByLabel("Requests per minute", { exact: true }).fill("1.5")
    await page.getByRole("button", { name: "Create key" }).click()
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toBe("Requests per minute: expected a whole number from 1 to 2147483647, or empty for no limit")
  })

  it("a superuser sets the user's key's budget from the key list, and sees it listed", async () => {
    await signOut()
    await ui.signIn()
    await ui.nav("API keys").click()
    await page.getByLabel("Keys of", { exact: true }).selectOption({ label: "carol" })
    await page.getByRole("heading", { name: "carol’s keys" }).waitFor()
    const row = page.getByRole("row").filter({ hasText: "limited" })
    await row.getByRole("button", { name: "Edit limited" }).click()
    const edit = page.locator("form").filter({ has: page.getByRole("heading", { name: "Edit key “limited”" }) })
    // Its settings are filled in: the exact expiry in the browser's time.
    expect(await edit.getByLabel("Requests per minute", { exact: true }).inputValue()).toBe("1")
    await edit.getByLabel("Expires", { exact: true }).selectOption("date")
    expect(await edit.getByLabel("Expires at", { exact: true }).inputValue()).toBe("2031-06-15T14:30")
    await edit.getByLabel("Expires", { exact: true }).selectOption("unchanged")
    await edit.getByLabel("Amount (USD)", { exact: true }).fill("-4")
    await edit.getByRole("button", { name: "Save" }).click()
    await expect.poll(() => edit.getByRole("alert").textContent()).toMatch(/expected an amount in USD/)
    await edit.getByLabel("Amount (USD)", { exact: true }).fill("25")
    await edit.getByLabel("Per", { exact: true }).selectOption("week")
    await edit.getByRole("button", { name: "Save" }).click()
    await page.getByRole("status").filter({ hasText: "Key “limited” saved." }).waitFor()
    await expect.poll(() => row.getByRole("cell").nth(4).textContent()).toBe("$25.00 a week")
    // Through the budget's own route, which shows its use.
    const users = (await (await ui.manage("GET", "/users")).json()) as Array<{ id: string; username: string }>
    const carolId = users.find((user) => user.username === "carol")!.id
    const [key] = await keysOf(carolId)
    const budget = (await (await ui.manage("GET", `/users/${carolId}/api-keys/${key.id}/budget`)).json()) as any
    expect(budget).toMatchObject({ amount_usd: "25.00", period: "week", soft: false, exceeded: false })
    // The rest stayed as it was.
    expect(key).toMatchObject({ requests_per_minute: 1, allowed_provider_ids: ["mock"], expiry_type: "date" })
  })

  it("fits a phone-width screen: Users and API keys scroll no sideways", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    for (const name of ["Users", "API keys"]) {
      await ui.nav(name).click()
      await page.getByRole("heading", { name, level: 1 }).waitFor()
      await page.getByText("Loading…").waitFor({ state: "detached" })
      const [scroll, client] = await page.evaluate<Array<number>>(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
      )
      expect([name, scroll! <= client!]).toEqual([name, true])
      await ui.record()
    }
    await page.getByLabel("Keys of", { exact: true }).selectOption({ label: "carol" })
    await page.getByRole("button", { name: "Edit limited" }).click()
    await page.getByRole("heading", { name: "Edit key “limited”" }).waitFor()
    const [scroll, client] = await page.evaluate<Array<number>>(
      "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
    )
    expect(scroll).toBeLessThanOrEqual(client!)
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it("never displayed a password, reached no other origin, and met no script or CSP error", () => {
    expect(ui.seen.length).toBeGreaterThan(5)
    expect(ui.seen.filter((text) => text.includes(carol.password) || text.includes(ui.admin.password))).toEqual([])
    expect(ui.blocked).toEqual([])
    expect(ui.pageErrors.filter((message) => !/status of (400|401|403)/.test(message))).toEqual([])
  })
})
