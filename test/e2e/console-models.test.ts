import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { type ConsoleBrowser, chromiumAvailable, startConsoleBrowser } from "../support/ConsoleBrowser.js"

/**
 * The console's Logical models page in a real browser (test/support/ConsoleBrowser.ts): create a
 * logical model over two providers on the mock provider, edit it, run the decide panel, delete it;
 * validation errors; phone width; superusers only.
 */
describe.skipIf(!chromiumAvailable)("console: logical models and the decide panel", () => {
  const keyA = `sk-models-a-${randomBytes(12).toString("hex")}`
  const keyB = `sk-models-b-${randomBytes(12).toString("hex")}`
  let mock: MockProvider
  let ui: ConsoleBrowser
  let page: ConsoleBrowser["page"]

  const stored = async (id: string) => {
    const response = await ui.manage("GET", `/logical-models/${id}`)
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  const modelRow = (id: string) => page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: id }) })
  const planRow = (upstream: string) =>
    page
      .getByRole("table")
      .filter({ hasText: "Confidence" })
      .getByRole("row")
      .filter({ has: page.getByRole("rowheader", { name: upstream }) })

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["gpt-4o-mini"], apiKeys: [keyA, keyB] })
    ui = await startConsoleBrowser()
    page = ui.page
    for (const [id, key] of [
      ["mock-a", keyA],
      ["mock-b", keyB],
    ] as const) {
      const created = await ui.manage("POST", "/providers", {
        id,
        protocol: "openai",
        base_url: mock.url,
        models: ["gpt-4o-mini"],
        keys: [{ key, label: "default" }],
      })
      expect(created.status).toBe(201)
    }
  })

  afterAll(async () => {
    await ui?.close()
    await mock?.close()
  })

  it("opens at /ui/models for a superuser: no logical model yet", async () => {
    await page.goto(ui.url("/ui/models"))
    await ui.signIn()
    await page.getByRole("heading", { name: "Logical models", level: 1 }).waitFor()
    expect(new URL(page.url()).pathname).toBe("/ui/models")
    await expect.poll(() => page.title()).toBe("Logical models · APIProxy")
    await page.getByText("No logical model yet").waitFor()
    expect(await ui.nav("Logical models").getAttribute("aria-current")).toBe("page")
  })

  it("creates a logical model with two upstreams and its own timeouts, retries and rescue", async () => {
    await page.getByLabel("Id", { exact: true }).fill("team-fast")
    await page.getByLabel("Name", { exact: true }).fill("Team fast")
    await page.getByLabel("Upstream 1 provider", { exact: true }).selectOption("mock-a")
    await page.getByLabel("Upstream 1 model", { exact: true }).fill("gpt-4o-mini")
    await page.getByLabel("Upstream 1 weight", { exact: true }).fill("2")
    await page.getByRole("button", { name: "Add upstream" }).click()
    await page.getByLabel("Upstream 2 provider", { exact: true }).selectOption("mock-b")
    await page.getByLabel("Upstream 2 model", { exact: true }).fill("gpt-4o-mini")
    await page.getByLabel("Upstream 2 priority", { exact: true }).fill("1")
    await page.getByLabel("First-token timeout (s)", { exact: true }).fill("10")
    await page.getByLabel("Retries", { exact: true }).fill("1")
    await page.getByLabel("Mid-stream rescue", { exact: true }).selectOption("off")
    await page.getByRole("button", { name: "Create logical model" }).click()
    await page.getByRole("status").filter({ hasText: "Logical model team-fast created." }).waitFor()

    const row = modelRow("team-fast")
    await expect
      .poll(() => row.textContent())
      .toContain("mock-a/gpt-4o-mini · priority 0 · weight 2mock-b/gpt-4o-mini · priority 1 · weight 1")
    expect(await row.textContent()).toContain("first token 10 s · 1 retry · no rescue")
    expect(await row.textContent()).toContain("Team fast")
    // The form is emptied for the next one.
    expect(await page.getByLabel("Id", { exact: true }).inputValue()).toBe("")
    const saved = await stored("team-fast")
    expect(saved.status).toBe(200)
    expect(saved.body).toMatchObject({
      name: "Team fast",
      strategy: "balanced",
      enabled: true,
      upstreams: [
        { provider: "mock-a", model: "gpt-4o-mini", weight: 2, priority: 0 },
        { provider: "mock-b", model: "gpt-4o-mini", weight: 1, priority: 1 },
      ],
      timeouts: { first_token: 10 },
      retries: 1,
      rescue: false,
    })
    await page.evaluate("window.scrollTo(0, 0)")
    await ui.shoot("logical-models")
  })

  it("shows the API's validation errors next to the form, and refuses text that is no number", async () => {
    await page.getByLabel("Id", { exact: true }).fill("team-bad")
    await page.getByLabel("Upstream 1 model", { exact: true }).fill("gpt-4o-mini")
    await page.getByLabel("Retries", { exact: true }).fill("9")
    await page.getByRole("button", { name: "Create logical model" }).click()
    const alert = page.getByRole("alert")
    await expect.poll(() => alert.textContent()).toContain("retries")
    expect(await alert.textContent()).toContain("expected a whole number from 0 to 5")
    // The alert sits in the form it is about.
    expect(await page.locator("form").filter({ has: alert }).getByRole("heading").textContent()).toBe(
      "Add a logical model",
    )

    await page.getByLabel("Retries", { exact: true }).fill("")
    await page.getByLabel("Upstream 1 provider", { exact: true }).selectOption("mock-a")
    await page.getByLabel("Upstream 1 weight", { exact: true }).fill("0")
    await page.getByRole("button", { name: "Create logical model" }).click()
    await expect.poll(() => alert.textContent()).toMatch(/weight.*positive/i)

    await page.getByLabel("Upstream 1 weight", { exact: true }).fill("heavy")
    await page.getByRole("button", { name: "Create logical model" }).click()
    await expect.poll(() => alert.textContent()).toBe("Upstream 1 weight: expected a number, got 'heavy'")

    await page.getByLabel("Upstream 1 weight", { exact: true }).fill("1")
    await page.getByLabel("Id", { exact: true }).fill("team/bad")
    await page.getByRole("button", { name: "Create logical model" }).click()
    await expect.poll(() => alert.textContent()).toContain("no '/'")
    expect((await stored("team-bad")).status).toBe(404)
    await ui.record()
  })

  it("edits a weight and the tier order (a move swaps priorities); Cancel leaves it as it was", async () => {
    await page.getByRole("button", { name: "Edit team-fast" }).click()
    const form = page.locator("form").filter({ has: page.getByRole("heading", { name: "Edit team-fast" }) })
    // Focus moves to the form opened.
    await expect.poll(() => page.evaluate("document.activeElement?.textContent")).toBe("Edit team-fast")
    expect(await form.getByLabel("Upstream 1 weight", { exact: true }).inputValue()).toBe("2")
    await form.getByLabel("Upstream 1 weight", { exact: true }).fill("5")
    await form.getByRole("button", { name: "Save changes" }).click()
    await page.getByRole("status").filter({ hasText: "Logical model team-fast saved." }).waitFor()
    await expect.poll(() => modelRow("team-fast").textContent()).toContain("mock-a/gpt-4o-mini · priority 0 · weight 5")
    expect((await stored("team-fast")).body).toMatchObject({
      upstreams: [
        { provider: "mock-a", weight: 5, priority: 0 },
        { provider: "mock-b", weight: 1, priority: 1 },
      ],
      // What the edit did not touch is kept.
      name: "Team fast",
      timeouts: { first_token: 10 },
      retries: 1,
      rescue: false,
    })

    await page.getByRole("button", { name: "Edit team-fast" }).click()
    await page.getByRole("button", { name: "Move up upstream 2" }).click()
    await page.getByRole("button", { name: "Cancel" }).click()
    await page.getByRole("heading", { name: "Add a logical model" }).waitFor()
    expect((await stored("team-fast")).body).toMatchObject({
      upstreams: [{ provider: "mock-a" }, { provider: "mock-b" }],
    })
  })

  it("decides: both candidates in plan order with their scores and why", async () => {
    await page.getByLabel("Model name", { exact: true }).fill("team-fast")
    await page.getByRole("button", { name: "Decide", exact: true }).click()
    const first = planRow("mock-a/gpt-4o-mini")
    const second = planRow("mock-b/gpt-4o-mini")
    await first.waitFor()
    const rows = page.getByRole("table").filter({ hasText: "Confidence" }).getByRole("rowheader")
    expect(await rows.allTextContents()).toEqual(["mock-a/gpt-4o-miniselected", "mock-b/gpt-4o-mini"])
    expect(await first.textContent()).toMatch(
      /^1mock-a\/gpt-4o-miniselecteddrawn by weight among the best tier-?\d+\.\d{3}0closed/,
    )
    expect(await second.textContent()).toMatch(/^2mock-b\/gpt-4o-minifallback, by score-?\d+\.\d{3}1closed/)
    expect(await first.textContent()).toContain("5 × 1.000 = 5.000")
    // The scores shown are the API's, in its order.
    const api = (await (await ui.manage("POST", "/routing/decide", { logical_model: "team-fast" })).json()) as {
      attempts: ReadonlyArray<{ provider: string; score: { score: number } }>
    }
    expect(api.attempts.map((a) => a.provider)).toEqual(["mock-a", "mock-b"])
    expect(await first.textContent()).toContain(api.attempts[0]!.score.score.toFixed(3))
    expect(await second.textContent()).toContain(api.attempts[1]!.score.score.toFixed(3))
    await expect.poll(() => page.locator("dl.facts").textContent()).toContain("Selectedmock-a/gpt-4o-mini")
    await page.evaluate("document.querySelector('section.decide').scrollIntoView()")
    await ui.shoot("decide")

    // Excluding the first provider leaves the second alone in the plan.
    await page.getByLabel("Exclude providers", { exact: true }).fill("mock-a")
    await page.getByRole("button", { name: "Decide", exact: true }).click()
    await expect.poll(() => rows.allTextContents()).toEqual(["mock-b/gpt-4o-miniselected"])
    // A name nothing serves: the API's 404 shown in the panel.
    await page.getByLabel("Exclude providers", { exact: true }).fill("")
    await page.getByLabel("Model name", { exact: true }).fill("no-such-model")
    await page.getByRole("button", { name: "Decide", exact: true }).click()
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("no-such-model")
    expect(await rows.count()).toBe(0)
  })

  it("after a move up, saved, the second provider leads the plan", async () => {
    await page.getByRole("button", { name: "Edit team-fast" }).click()
    await page.getByRole("button", { name: "Move up upstream 2" }).click()
    expect(await page.getByLabel("Upstream 1 provider", { exact: true }).inputValue()).toBe("mock-b")
    expect(await page.getByLabel("Upstream 1 priority", { exact: true }).inputValue()).toBe("0")
    await page.getByRole("button", { name: "Save changes" }).click()
    await page.getByRole("status").filter({ hasText: "Logical model team-fast saved." }).waitFor()
    expect((await stored("team-fast")).body).toMatchObject({
      upstreams: [
        { provider: "mock-b", priority: 0, weight: 1 },
        { provider: "mock-a", priority: 1, weight: 5 },
      ],
    })
    await page.getByLabel("Model name", { exact: true }).fill("team-fast")
    await page.getByRole("button", { name: "Decide", exact: true }).click()
    const rows = page.getByRole("table").filter({ hasText: "Confidence" }).getByRole("rowheader")
    await expect.poll(() => rows.allTextContents()).toEqual(["mock-b/gpt-4o-miniselected", "mock-a/gpt-4o-mini"])
  })

  it("fits a phone-width screen: the list, the form and the plan", async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await planRow("mock-a/gpt-4o-mini").waitFor()
    const widths = await page.evaluate<Array<number>>(
      "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
    )
    expect(widths[0]).toBeLessThanOrEqual(widths[1]!)
    await ui.record()
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it("deletes it after a confirmation", async () => {
    const dialogs: Array<string> = []
    page.once("dialog", (dialog) => dialogs.push(dialog.message()))
    await page.getByRole("button", { name: "Delete team-fast" }).click()
    await page.getByRole("status").filter({ hasText: "Logical model team-fast deleted." }).waitFor()
    expect(dialogs).toEqual(["Delete the logical model team-fast? Clients sending it get model_not_found."])
    await page.getByText("No logical model yet").waitFor()
    expect((await stored("team-fast")).status).toBe(404)
  })

  it("is a superuser's page: another user has no link to it and is sent elsewhere", async () => {
    const created = await ui.manage("POST", "/users", {
      username: "dev",
      email: "dev@example.com",
      password: "dev-password-1",
    })
    expect(created.status).toBe(201)
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.goto(ui.url("/ui/models"))
    await ui.signIn({ username: "dev", password: "dev-password-1" })
    await page.getByRole("heading", { name: "API keys", level: 1 }).waitFor()
    expect(new URL(page.url()).pathname).toBe("/ui/keys")
    expect(await ui.nav("Logical models").count()).toBe(0)
  })

  it("never displayed a provider key, reached no other origin, met no script error", () => {
    expect(ui.seen.length).toBeGreaterThan(5)
    const leaked = ui.seen.filter((text) => text.includes(keyA.slice(0, -4)) || text.includes(keyB.slice(0, -4)))
    expect(leaked).toEqual([])
    expect(ui.blocked).toEqual([])
    // The refused inputs above are 400s and the unknown model a 404, which the browser logs.
    expect(ui.pageErrors.filter((message) => !/status of (400|404)/.test(message))).toEqual([])
  })
})
