import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { usdText } from "../../src/usage/Cost.js"
import { type ConsoleBrowser, chromiumAvailable, startConsoleBrowser } from "../support/ConsoleBrowser.js"

/**
 * The web console in a real browser (test/support/ConsoleBrowser.ts): what an operator does on
 * each page, against the real gateway and the mock provider, loopback only.
 */
describe.skipIf(!chromiumAvailable)("web console in chromium", () => {
  const providerKey = `sk-console-secret-${randomBytes(12).toString("hex")}`
  const backupKey = `sk-console-backup-${randomBytes(12).toString("hex")}`
  let mock: MockProvider
  let ui: ConsoleBrowser
  let page: ConsoleBrowser["page"]
  let admin: { username: string; password: string }
  const gatewayUrl = (p: string) => ui.url(p)
  const record = () => ui.record()
  const shoot = (name: string) => ui.shoot(name)
  const nav = (name: string) => ui.nav(name)

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["gpt-4o-mini"], apiKeys: [providerKey] })
    ui = await startConsoleBrowser()
    page = ui.page
    admin = ui.admin
  })

  afterAll(async () => {
    await ui?.close()
    await mock?.close()
  })

  it("signs in from / with the keyboard alone, landing on the providers page", async () => {
    await page.goto(gatewayUrl("/"))
    expect(new URL(page.url()).pathname).toBe("/ui/")
    await expect.poll(() => page.title()).toBe("Sign in · APIProxy")
    await shoot("sign-in")
    // The username field has focus on arrival; Tab to the password, Enter submits.
    await page.keyboard.type(admin.username)
    await page.keyboard.press("Tab")
    await page.keyboard.type("not the password")
    await page.keyboard.press("Enter")
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/invalid|incorrect|wrong/i)
    await page.getByLabel("Password", { exact: true }).fill(admin.password)
    await page.keyboard.press("Enter")
    await page.getByRole("heading", { name: "Providers", level: 1 }).waitFor()
    expect(new URL(page.url()).pathname).toBe("/ui/providers")
    // The login lives in memory only: nothing in the browser's storage.
    const stored = await page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]")
    expect(stored).toEqual([0, 0, ""])
  })

  it("adds a provider backed by the mock: listed healthy, its key masked and never shown again", async () => {
    await page.getByLabel("Id", { exact: true }).fill("mock")
    await page.getByLabel("Name", { exact: true }).fill("Mock provider")
    await page.getByLabel("Base URL", { exact: true }).fill(mock.url)
    await page.getByLabel("API key", { exact: true }).fill(providerKey)
    await page.getByLabel("Models", { exact: true }).fill("gpt-4o-mini")
    await page.getByRole("button", { name: "Add provider" }).click()
    await page.getByRole("status").filter({ hasText: "Provider mock added." }).waitFor()
    // The key field is emptied once saved.
    expect(await page.getByLabel("API key", { exact: true }).inputValue()).toBe("")
    const row = page.getByRole("row").filter({ hasText: "Mock provider" })
    await row.getByText(/^healthy · \d+ ms$/).waitFor()
    await expect.poll(() => row.textContent()).toContain(`…${providerKey.slice(-4)}`)
    await shoot("providers")
  })

  it("adds a second key to the provider (write-only, shown masked) and removes it", async () => {
    const row = page.getByRole("row").filter({ hasText: "Mock provider" })
    await row.getByText("Add a key").click()
    await row.getByLabel("Label", { exact: true }).fill("backup")
    await row.getByLabel("Key", { exact: true }).fill(backupKey)
    await row.getByRole("button", { name: "Add key" }).click()
    await page
      .getByRole("status")
      .filter({ hasText: `Key backup (…${backupKey.slice(-4)}) added to mock.` })
      .waitFor()
    expect(await row.getByLabel("Key", { exact: true }).inputValue()).toBe("")
    await expect.poll(() => row.textContent()).toContain(`…${backupKey.slice(-4)} backup`)
    await record()
    await row.getByRole("button", { name: "Remove the key backup of mock" }).click()
    await page.getByRole("status").filter({ hasText: "Key backup removed from mock." }).waitFor()
    await expect.poll(() => row.textContent()).not.toContain(`…${backupKey.slice(-4)}`)
    expect(await row.textContent()).toContain(`…${providerKey.slice(-4)}`)
  })

  it("creates an API key, shown once with a copy button", async () => {
    await nav("API keys").click()
    await page.getByRole("heading", { name: "API keys", level: 1 }).waitFor()
    expect(new URL(page.url()).pathname).toBe("/ui/keys")
    await page.getByLabel("Name", { exact: true }).fill("playground")
    await page.getByRole("button", { name: "Create key" }).click()
    const token = await page.getByLabel("The new API key", { exact: true }).inputValue()
    expect(token.length).toBeGreaterThan(20)
    await page.getByRole("button", { name: "Copy" }).click()
    await page
      .getByRole("status")
      .filter({ hasText: /Copied|clipboard/ })
      .waitFor()
    await page.getByRole("row").filter({ hasText: "playground" }).waitFor()
    await shoot("api-keys")
    await page.getByRole("button", { name: "Done" }).click()
    expect(await page.getByLabel("The new API key", { exact: true }).count()).toBe(0)
    // Listed by its prefix only from now on.
    expect(await page.content()).not.toContain(token)
    ;(globalThis as { consoleToken?: string }).consoleToken = token
  })

  it("prices the mock's model through the management API, so the request log shows a cost", async () => {
    const priced = await ui.manage("PATCH", "/providers/mock", { prices: { "gpt-4o-mini": { input: 1, output: 2 } } })
    expect(priced.status).toBe(200)
  })

  it("streams a chat in the playground with the key, showing the gateway's headers", async () => {
    const token = (globalThis as { consoleToken?: string }).consoleToken!
    mock.script({ chunks: ["Hello", " from", " the", " mock."], chunkDelayMs: 250 })
    await nav("Playground").click()
    await page.getByLabel("API key", { exact: true }).fill(token)
    await page.getByRole("button", { name: "Load models" }).click()
    const model = page.getByLabel("Model", { exact: true })
    await model.waitFor()
    expect(await model.locator("option").allTextContents()).toContain("gpt-4o-mini")
    await model.selectOption("gpt-4o-mini")
    await page.getByLabel("Message", { exact: true }).fill("Say hello")
    await page.getByRole("button", { name: "Send" }).click()
    const answer = page.locator("output.answer")
    // Part of the answer shows while the stream is still open: it is streamed, not waited for.
    await answer.filter({ hasText: "Hello" }).waitFor()
    expect(await answer.getAttribute("aria-busy")).toBe("true")
    expect(await answer.textContent()).not.toBe("Hello from the mock.")
    await page.getByText("Complete.").waitFor()
    expect(await answer.textContent()).toBe("Hello from the mock.")
    expect(await answer.getAttribute("aria-busy")).toBe("false")
    const headers = page.locator("dl.facts")
    await expect.poll(() => headers.textContent()).toContain("x-apiproxy-providermock")
    expect(await headers.textContent()).toContain("x-apiproxy-attempts1")
    expect(mock.received.at(-1)?.headers.authorization).toBe(`Bearer ${providerKey}`)
    await shoot("playground")
  })

  it("finds the playground's request in the request log, with its attempt and its cost", async () => {
    await nav("Request log").click()
    await page.getByRole("heading", { name: "Request log", level: 1 }).waitFor()
    expect(new URL(page.url()).pathname).toBe("/ui/logs")
    // The log is written in batches: refresh until the request's row is there.
    const row = page.locator("table.log-table > tbody > tr:not(.detail)").filter({ hasText: "playground" })
    await expect
      .poll(
        async () => {
          if ((await row.count()) === 0) {
            await page.getByRole("button", { name: "Refresh" }).click()
            await page.getByText("Loading…").waitFor({ state: "detached" })
          }
          return row.count()
        },
        { timeout: 10_000, interval: 250 },
      )
      .toBe(1)
    const logged = (await (await ui.manage("GET", "/logs")).json()) as {
      rows: Array<{ api_key_id: string | null; input_tokens: number; output_tokens: number; cost_usd: string }>
    }
    const entry = logged.rows.find((candidate) => candidate.api_key_id !== null)!
    // $1 and $2 per million tokens in and out.
    const nanos = BigInt(entry.input_tokens) * 1_000n + BigInt(entry.output_tokens) * 2_000n
    expect(nanos).toBeGreaterThan(0n)
    expect(entry.cost_usd).toBe(usdText(nanos))
    const cell = (label: string) => row.locator(`td[data-label="${label}"]`).textContent()
    expect(await cell("Cost")).toBe(`$${entry.cost_usd}`)
    expect(await cell("Model")).toBe("gpt-4o-mini")
    expect(await cell("Provider")).toBe("mock")
    expect(await cell("Outcome")).toBe("complete")
    expect(await cell("First token")).toMatch(/^\d+ ms$|^\d+\.\d+ s$/)
    await row.getByRole("button", { name: /^Details of the request / }).click()
    const detail = page.locator("tr.detail")
    await detail.getByRole("heading", { name: "Attempts (1)" }).waitFor()
    expect(
      (await detail.locator("table.attempts tbody tr").first().locator("th, td").allTextContents()).slice(0, 5),
    ).toEqual(["1", "mock", "gpt-4o-mini", "ok", "200"])
    expect(
      await detail
        .locator("dt")
        .filter({ hasText: /^Cost$/ })
        .locator("+ dd")
        .textContent(),
    ).toBe(`$${entry.cost_usd}`)
    await record()
  })

  it("revokes the key, after which the playground is refused", async () => {
    const token = (globalThis as { consoleToken?: string }).consoleToken!
    await nav("API keys").click()
    await page.getByRole("button", { name: "Revoke playground" }).click()
    await page.getByRole("status").filter({ hasText: "revoked" }).waitFor()
    await nav("Playground").click()
    await page.getByLabel("API key", { exact: true }).fill(token)
    await page.getByRole("button", { name: "Load models" }).click()
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/key/i)
    expect(await page.getByLabel("Model", { exact: true }).count()).toBe(0)
    const direct = await fetch(gatewayUrl("/v1/chat/completions"), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    })
    expect(direct.status).toBe(401)
  })

  it("changes the password (every login ends), signs in with the new one, signs out", async () => {
    await nav("Account").click()
    await page.getByRole("heading", { name: "Account", level: 1 }).waitFor()
    await shoot("account")
    const next = `new-${randomBytes(8).toString("hex")}`
    await page.getByLabel("Current password", { exact: true }).fill(admin.password)
    await page.getByLabel("New password", { exact: true }).fill(next)
    await page.getByLabel("New password again", { exact: true }).fill(next)
    await page.getByRole("button", { name: "Change password" }).click()
    await page.getByRole("status").filter({ hasText: "Password changed" }).waitFor()
    const old = await fetch(gatewayUrl("/auth/login"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: admin.username, password: admin.password }),
    })
    expect(old.status).toBe(401)
    await page.getByLabel("Username or email", { exact: true }).fill(admin.username)
    await page.getByLabel("Password", { exact: true }).fill(next)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.getByRole("button", { name: "Sign in" }).waitFor()
    expect(await page.getByRole("navigation").count()).toBe(0)
    admin.password = next
  })

  it("fits a phone-width screen: no page scrolls sideways", async () => {
    await page.getByLabel("Username or email", { exact: true }).fill(admin.username)
    await page.getByLabel("Password", { exact: true }).fill(admin.password)
    await page.getByRole("button", { name: "Sign in" }).click()
    // Signing in again returns to the page the console was on.
    await page.getByRole("heading", { name: "Account", level: 1 }).waitFor()
    await page.setViewportSize({ width: 390, height: 844 })
    for (const [name, heading] of [
      ["Providers", "Providers"],
      ["API keys", "API keys"],
      ["Playground", "Playground"],
      ["Account", "Account"],
      ["Request log", "Request log"],
    ] as const) {
      await nav(name).click()
      await page.getByRole("heading", { name: heading, level: 1 }).waitFor()
      await page.getByText("Loading…").waitFor({ state: "detached" })
      const widths = await page.evaluate<Array<number>>(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
      )
      expect([name, widths[0]! <= widths[1]!]).toEqual([name, true])
      await record()
    }
    await nav("Providers").click()
    await page
      .getByRole("row")
      .filter({ hasText: "Mock provider" })
      .getByText(/^healthy/)
      .waitFor()
    await shoot("providers-phone")
  })

  it("a user who is not a superuser sees their own pages only: no providers", async () => {
    await page.setViewportSize({ width: 1280, height: 800 })
    const created = await fetch(gatewayUrl("/users"), {
      method: "POST",
      headers: { authorization: `Bearer ${ui.gateway.masterKey}`, "content-type": "application/json" },
      body: JSON.stringify({ username: "dev", email: "dev@example.com", password: "dev-password-1" }),
    })
    expect(created.status).toBe(201)
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.goto(gatewayUrl("/ui/providers"))
    await page.getByLabel("Username or email", { exact: true }).fill("dev")
    await page.getByLabel("Password", { exact: true }).fill("dev-password-1")
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("heading", { name: "API keys", level: 1 }).waitFor()
    expect(new URL(page.url()).pathname).toBe("/ui/keys")
    expect(await nav("Providers").count()).toBe(0)
    // Only their own keys: the admin's are not listed.
    await page.getByText("No key yet.").waitFor()
    await record()
  })

  it("never displayed the provider key, reached no other origin, and met no script or CSP error", () => {
    const { seen, blocked, pageErrors } = ui
    expect(seen.length).toBeGreaterThan(10)
    // The masked form shows the last four characters: anything longer than that is a leak.
    const leaked = seen.filter(
      (text) => text.includes(providerKey.slice(0, -4)) || text.includes(backupKey.slice(0, -4)),
    )
    expect(leaked).toEqual([])
    expect(blocked).toEqual([])
    expect(pageErrors.filter((message) => !/status of 401/.test(message))).toEqual([])
  })
})
