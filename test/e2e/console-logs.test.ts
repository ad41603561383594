import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { type ConsoleBrowser, chromiumAvailable, startConsoleBrowser } from "../support/ConsoleBrowser.js"
import { gatewayApi } from "../support/GatewayApi.js"
import { postJson } from "../support/PostJson.js"

/**
 * The console's request log page (/ui/logs) in a real browser against the real gateway and two
 * mock upstreams: rows as GET /logs has them, filters kept in the address (reload, back), cursor
 * pages over more rows than a page, a failed-over request's two attempts in its detail, the
 * empty and error states, and a user who sees only their own requests.
 */
describe.skipIf(!chromiumAvailable)("request log page in chromium", () => {
  const primaryKey = `sk-logs-primary-${randomBytes(12).toString("hex")}`
  const backupKey = `sk-logs-backup-${randomBytes(12).toString("hex")}`
  /** The non-superuser's requests: more than one page of 10. */
  const DEV_REQUESTS = 12
  let primary: MockProvider
  let backup: MockProvider
  let ui: ConsoleBrowser
  let page: ConsoleBrowser["page"]
  let dev: { id: string; key: { id: string; token: string } }
  const api = gatewayApi(
    () => ui.gateway.url,
    () => ui.gateway.masterKey,
  )
  const chat = (key: string, model: string, requestId: string) =>
    postJson(
      ui.gateway.url,
      key,
      "/v1/chat/completions",
      { model, messages: [{ role: "user", content: "hi" }] },
      { "x-request-id": requestId },
    )
  const table = () => page.locator("table.log-table")
  const bodyRows = () => table().locator(":scope > tbody > tr:not(.detail)")
  const requestRow = (requestId: string) =>
    bodyRows().filter({ has: page.getByRole("button", { name: `Details of the request ${requestId}` }) })
  /** Polls the page (its Refresh button) until the request's row is listed: the log is written in batches. */
  const waitForRow = async (requestId: string) => {
    await expect
      .poll(
        async () => {
          if ((await requestRow(requestId).count()) > 0) return true
          await page.getByRole("button", { name: "Refresh" }).click()
          await page.getByText("Loading…").waitFor({ state: "detached" })
          return (await requestRow(requestId).count()) > 0
        },
        { timeout: 10_000, interval: 250 },
      )
      .toBe(true)
  }
  /** A request's detail, opened by its Details button. */
  const openDetail = async (requestId: string) => {
    const button = page.getByRole("button", { name: `Details of the request ${requestId}` })
    await button.click()
    return page.locator(`#${await button.getAttribute("aria-controls")}`)
  }
  /** A fact of an open detail, e.g. its Cost. */
  const factOf = async (detail: ReturnType<ConsoleBrowser["page"]["locator"]>, name: string) =>
    (
      await detail
        .locator("dt")
        .filter({ hasText: new RegExp(`^${name}$`) })
        .locator("+ dd")
        .textContent()
    )?.trim()
  const pathAndQuery = () => {
    const url = new URL(page.url())
    return `${url.pathname}${url.search}`
  }
  /** Applies the filters. The rows shown may still be the last view's for a moment: counts are polled. */
  const apply = async () => {
    await page.getByRole("button", { name: "Apply filters" }).click()
    await page.getByText("Loading…").waitFor({ state: "detached" })
  }

  beforeAll(async () => {
    primary = await startMockProvider({ models: ["gpt-4o-mini"], apiKeys: [primaryKey] })
    backup = await startMockProvider({ models: ["gpt-4.1-mini"], apiKeys: [backupKey] })
    ui = await startConsoleBrowser()
    page = ui.page
    for (const [id, mock, key, model] of [
      ["primary", primary, primaryKey, "gpt-4o-mini"],
      ["backup", backup, backupKey, "gpt-4.1-mini"],
    ] as const) {
      const created = await ui.manage("POST", "/providers", {
        id,
        base_url: mock.url,
        keys: [{ key }],
        models: [model],
      })
      expect(created.status).toBe(201)
    }
    const fast = await ui.manage("POST", "/logical-models", {
      id: "fast",
      retries: 0,
      upstreams: [
        { provider: "primary", model: "gpt-4o-mini", priority: 0 },
        { provider: "backup", model: "gpt-4.1-mini", priority: 1 },
      ],
    })
    expect(fast.status).toBe(201)
    const devId = await api.createUser("logdev")
    dev = { id: devId, key: await api.createKey(devId, "dev app") }

    // The first attempt fails with a 503; the backup answers.
    primary.script({ status: 503 })
    const failedOver = await chat(ui.gateway.masterKey, "fast", "cl-failover")
    expect(failedOver.status).toBe(200)
    expect(failedOver.headers.get("x-apiproxy-attempts")).toBe("2")
    for (let i = 0; i < DEV_REQUESTS; i++)
      expect((await chat(dev.key.token, "gpt-4o-mini", `cl-dev-${String(i).padStart(2, "0")}`)).status).toBe(200)
    expect((await chat(dev.key.token, "no-such-model", "cl-unknown")).status).toBe(404)
  }, 90_000)

  afterAll(async () => {
    await ui?.close()
    await primary?.close()
    await backup?.close()
  })

  it("lists every request newest first: caller key, endpoint, models, provider, status, outcome, timings, tokens", async () => {
    await page.goto(ui.url("/ui/logs"))
    await ui.signIn()
    await page.getByRole("heading", { name: "Request log", level: 1 }).waitFor()
    expect(await ui.nav("Request log").getAttribute("aria-current")).toBe("page")
    await waitForRow("cl-failover")
    await waitForRow("cl-unknown")
    await expect.poll(() => bodyRows().count()).toBe(DEV_REQUESTS + 2)
    // Newest first: the refused request was the last one sent, the failed-over one the first.
    expect(await bodyRows().first().getByRole("button").getAttribute("aria-label")).toContain("cl-unknown")
    expect(await bodyRows().last().getByRole("button").getAttribute("aria-label")).toContain("cl-failover")

    const cell = async (requestId: string, label: string) =>
      (await requestRow(requestId).locator(`td[data-label="${label}"]`).textContent())?.trim()
    expect(await cell("cl-failover", "Caller key")).toBe("master key")
    expect(await cell("cl-failover", "Endpoint")).toBe("openai-chat /v1/chat/completions")
    expect(await cell("cl-failover", "Model")).toBe("fast → gpt-4.1-mini")
    expect(await cell("cl-failover", "Provider")).toBe("backup")
    expect(await cell("cl-failover", "Status")).toBe("200")
    expect(await cell("cl-failover", "Outcome")).toBe("complete")
    expect(await cell("cl-failover", "Latency")).toMatch(/^\d+ ms$|^\d+\.\d+ s$/)
    expect(await cell("cl-failover", "First token")).toBe("—")
    expect(await cell("cl-failover", "Tokens")).toMatch(/^\d+ in · \d+ out$/)
    expect(await cell("cl-dev-00", "Caller key")).toBe("dev app · logdev")
    expect(await cell("cl-unknown", "Status")).toBe("404")
    expect(await cell("cl-unknown", "Outcome")).toBe("failed")
    expect(await cell("cl-unknown", "Provider")).toBe("—")
    // A superuser may narrow the log to one user.
    expect(await page.getByLabel("User", { exact: true }).count()).toBe(1)
    await ui.shoot("request-log")
  })

  it("opens a failed-over request in place with the keyboard: both attempts, the 503 first, latency, tokens, cost", async () => {
    const button = page.getByRole("button", { name: "Details of the request cl-failover" })
    await button.focus()
    await page.keyboard.press("Enter")
    expect(await button.getAttribute("aria-expanded")).toBe("true")
    const detail = page.locator(`#${await button.getAttribute("aria-controls")}`)
    await detail.getByRole("heading", { name: "Attempts (2)" }).waitFor()
    const attempts = detail.locator("table.attempts tbody tr")
    expect(await attempts.count()).toBe(2)
    const attempt = async (n: number) =>
      (await attempts.nth(n).locator("th, td").allTextContents()).map((text) => text.trim())
    const [first, second] = [await attempt(0), await attempt(1)]
    expect(first.slice(0, 5)).toEqual(["1", "primary", "gpt-4o-mini", "http", "503"])
    expect(first[6]).toBe("the upstream answered 503")
    expect(second.slice(0, 5)).toEqual(["2", "backup", "gpt-4.1-mini", "ok", "200"])
    expect(second[6]).toBe("answered")
    const fact = (name: string) => factOf(detail, name)
    expect(await fact("Request id")).toBe("cl-failover")
    expect(await fact("Served by")).toBe("backup / gpt-4.1-mini")
    expect(await fact("Latency")).toMatch(/^\d+ ms$|^\d+\.\d+ s$/)
    expect(await fact("Tokens")).toMatch(/^\d+ in · \d+ out$/)
    expect(await fact("Error class")).toBe("—")
    // gpt-4.1-mini has a shipped price: the cost is the API's exact decimal.
    const logged = await api.call("GET", "/logs?limit=500", ui.gateway.masterKey)
    const row = (logged.body.rows as Array<{ request_id: string; cost_usd: string | null }>).find(
      (entry) => entry.request_id === "cl-failover",
    )!
    expect(row.cost_usd).toMatch(/^\d+\.\d+$/)
    expect(await fact("Cost")).toBe(`$${row.cost_usd}`)
    await requestRow("cl-failover").evaluate((row) => row.scrollIntoView({ block: "start" }))
    await ui.shoot("request-detail")
    // The list with a request open passes axe's WCAG 2.1 A and AA rules (labels, contrast, roles, ids).
    expect(await ui.audit("request log with a request open")).toEqual([])
    // Enter again closes it.
    await page.keyboard.press("Enter")
    expect(await button.getAttribute("aria-expanded")).toBe("false")
    expect(await detail.count()).toBe(0)
  })

  it("a refused request's detail: no attempt, its error class and message", async () => {
    const detail = await openDetail("cl-unknown")
    await detail.getByRole("heading", { name: "Attempts (0)" }).waitFor()
    expect(await detail.getByText("No upstream was called.").count()).toBe(1)
    expect(await factOf(detail, "Error class")).toBe("ModelNotFound")
    expect(await factOf(detail, "Error message")).toContain("no-such-model")
    expect(await factOf(detail, "Cost")).toBe("—")
  })

  it("filters from the form land in the address: a reload keeps them, back undoes them", async () => {
    // One filter at a time: the query names it, the one matching request is listed.
    for (const [label, value, query, requestId] of [
      ["Status", "4xx", "status=4xx", "cl-unknown"],
      ["Provider", "backup", "provider=backup", "cl-failover"],
      ["Error class", "ModelNotFound", "error_class=ModelNotFound", "cl-unknown"],
    ] as const) {
      await page.getByLabel(label, { exact: true }).fill(value)
      await apply()
      expect(pathAndQuery()).toBe(`/ui/logs?${query}`)
      await expect.poll(() => bodyRows().count()).toBe(1)
      await requestRow(requestId).waitFor()
      await page.getByLabel(label, { exact: true }).fill("")
    }
    // The view to come back to.
    await page.getByLabel("Provider", { exact: true }).fill("backup")
    await apply()

    await page.getByLabel("Provider", { exact: true }).fill("")
    const keyOption = page.getByLabel("API key", { exact: true }).locator("option", { hasText: "dev app" })
    await page.getByLabel("API key", { exact: true }).selectOption((await keyOption.getAttribute("value"))!)
    await page.getByLabel("Model", { exact: true }).fill("gpt-4o-mini")
    await apply()
    expect(pathAndQuery()).toBe(`/ui/logs?api_key_id=${dev.key.id}&model=gpt-4o-mini`)
    await expect.poll(() => bodyRows().count()).toBe(DEV_REQUESTS)

    // A reload signs out (the login lives in memory); signed in again, the same filtered view.
    await page.reload()
    await ui.signIn()
    await page.getByRole("heading", { name: "Request log", level: 1 }).waitFor()
    await page.getByText("Loading…").waitFor({ state: "detached" })
    expect(pathAndQuery()).toBe(`/ui/logs?api_key_id=${dev.key.id}&model=gpt-4o-mini`)
    expect(await page.getByLabel("Model", { exact: true }).inputValue()).toBe("gpt-4o-mini")
    await expect.poll(() => page.getByLabel("API key", { exact: true }).inputValue()).toBe(dev.key.id)
    await expect.poll(() => bodyRows().count()).toBe(DEV_REQUESTS)

    // Back: the view before, its form too.
    await page.goBack()
    await expect.poll(pathAndQuery).toBe("/ui/logs?provider=backup")
    await expect.poll(() => page.getByLabel("Provider", { exact: true }).inputValue()).toBe("backup")
    await expect.poll(() => bodyRows().count()).toBe(1)

    await page.getByRole("button", { name: "Clear filters" }).click()
    await expect.poll(pathAndQuery).toBe("/ui/logs")
    await expect.poll(() => bodyRows().count()).toBe(DEV_REQUESTS + 2)
  })

  it("pages by cursor over more rows than a page: each row once, newer and older", async () => {
    await page.getByLabel("Rows per page", { exact: true }).selectOption("10")
    await apply()
    expect(pathAndQuery()).toBe("/ui/logs?limit=10")
    await expect.poll(() => bodyRows().count()).toBe(10)
    const pager = page.getByRole("navigation", { name: "Pages" })
    expect(await pager.getByRole("button", { name: "Newer" }).isDisabled()).toBe(true)
    expect(await pager.getByRole("status").textContent()).toBe("Page 1 · 10 requests")
    const ids = () =>
      bodyRows()
        .getByRole("button")
        .evaluateAll((buttons) => buttons.map((button) => button.getAttribute("aria-label")))
    const first = await ids()

    await pager.getByRole("button", { name: "Older" }).click()
    await expect.poll(() => pager.getByRole("status").textContent()).toBe("Page 2 · 4 requests")
    expect(new URL(page.url()).searchParams.get("cursor")).not.toBeNull()
    expect(await pager.getByRole("button", { name: "Older" }).isDisabled()).toBe(true)
    const second = await ids()
    expect(new Set([...first, ...second]).size).toBe(DEV_REQUESTS + 2)

    await pager.getByRole("button", { name: "Newer" }).click()
    await expect.poll(() => pager.getByRole("status").textContent()).toBe("Page 1 · 10 requests")
    expect(pathAndQuery()).toBe("/ui/logs?limit=10")
    expect(await ids()).toEqual(first)
  })

  it("empty and error states: nothing matching, the API's refusal of a filter, a hostile query", async () => {
    await page.getByLabel("Error class", { exact: true }).fill("NoSuchErrorClass")
    await apply()
    await page.getByRole("status").filter({ hasText: "No request matches these filters." }).waitFor()
    expect(await table().count()).toBe(0)
    await page.getByRole("button", { name: "Clear filters" }).click()

    // From after To: the API says why, the page shows it as an alert.
    await page.getByLabel("From", { exact: true }).fill("2030-01-02T00:00")
    await page.getByLabel("To", { exact: true }).fill("2030-01-01T00:00")
    await page.getByRole("button", { name: "Apply filters" }).click()
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("'from' must be before 'to'")
    expect(await table().count()).toBe(0)

    // Markup in the address is a value, not markup: the API refuses the model id, nothing runs.
    await page.goto(ui.url("/ui/logs?model=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&cursor=nope"))
    await ui.signIn()
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/model|cursor/i)
    expect(await page.locator("img").count()).toBe(0)
    expect(await page.getByLabel("Model", { exact: true }).inputValue()).toBe("<img src=x onerror=alert(1)>")
    await ui.record()
  })

  it("a user who is not a superuser sees only their own requests, and no user filter", async () => {
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.goto(ui.url("/ui/logs"))
    await ui.signIn({ username: "logdev", password: "logdev-password-1234" })
    await page.getByRole("heading", { name: "Request log", level: 1 }).waitFor()
    await page.getByText("Loading…").waitFor({ state: "detached" })
    await expect.poll(() => bodyRows().count()).toBe(DEV_REQUESTS + 1)
    expect(await requestRow("cl-failover").count()).toBe(0)
    expect(await page.getByLabel("User", { exact: true }).count()).toBe(0)
    // The key's name replaces its id once the page's key list has arrived.
    await expect
      .poll(() => requestRow("cl-dev-03").locator('td[data-label="Caller key"]').textContent())
      .toBe("dev app")

    // A new user with no request yet: the empty log.
    await api.createUser("lognew")
    await page.getByRole("button", { name: "Sign out" }).click()
    await ui.signIn({ username: "lognew", password: "lognew-password-1234" })
    await page.getByRole("status").filter({ hasText: "No request logged yet." }).waitFor()
  })

  it("fits a phone-width screen with a request open", async () => {
    await page.getByRole("button", { name: "Sign out" }).click()
    await ui.signIn()
    await page.setViewportSize({ width: 390, height: 844 })
    await (await openDetail("cl-failover")).getByRole("heading", { name: "Attempts (2)" }).waitFor()
    const widths = await page.evaluate<Array<number>>(
      "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
    )
    expect(widths[0]).toBeLessThanOrEqual(widths[1]!)
    await ui.record()
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it("showed no provider key, reached no other origin, and met no script error", () => {
    expect(
      ui.seen.filter((text) => text.includes(primaryKey.slice(0, -4)) || text.includes(backupKey.slice(0, -4))),
    ).toEqual([])
    expect(ui.blocked).toEqual([])
    // The refused filters are 400s the console showed as alerts.
    expect(ui.pageErrors.filter((message) => !/status of (400|401)/.test(message))).toEqual([])
  })
})
