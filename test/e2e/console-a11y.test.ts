import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { type ConsoleBrowser, chromiumAvailable, startConsoleBrowser } from "../support/ConsoleBrowser.js"

/** What a focused element looks like: whether its focus shows, and how well it stands out. */
interface Focused {
  /** `tag "accessible name"`, for the failure message. */
  readonly element: string
  /** Outline or box-shadow drawn: a visible indicator. */
  readonly indicated: boolean
  /** Contrast of the outline against the background it is drawn on (WCAG 2.1 1.4.11 asks 3:1). */
  readonly contrast: number
}

/**
 * Runs in the page: the focused element's description, whether its computed style draws a focus
 * indicator (outline or box-shadow not none), and the outline's contrast with the background
 * around it (the nearest ancestor's opaque background; the outline sits outside the element).
 */
const DESCRIBE_FOCUS = `(() => {
  const el = document.activeElement
  if (el === null || el === document.body) return { element: "body", indicated: false, contrast: 0 }
  const name = (el.getAttribute("aria-label") ?? el.labels?.[0]?.textContent ?? el.textContent ?? "").trim().slice(0, 40)
  const style = getComputedStyle(el)
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0
  const shadow = style.boxShadow !== "none"
  const rgb = (text) => (text.match(/[\\d.]+/g) ?? ["0", "0", "0", "0"]).map(Number)
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 })
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
  }
  let background = [255, 255, 255]
  for (let node = el.parentElement; node !== null; node = node.parentElement) {
    const color = rgb(getComputedStyle(node).backgroundColor)
    if (color.length < 4 || color[3] > 0) { background = color; break }
  }
  const [a, b] = [luminance(rgb(style.outlineColor)), luminance(background)].sort((x, y) => y - x)
  return {
    element: el.tagName.toLowerCase() + ' "' + name + '"',
    indicated: outline || shadow,
    contrast: outline ? Math.round(((a + 0.05) / (b + 0.05)) * 100) / 100 : 21,
  }
})()`

/**
 * The console's accessibility in a real browser: an axe-core audit (WCAG 2.1 A and AA, colour
 * contrast included) of every page in the state an operator sees it — with rows, with the new key's
 * dialog, after a streamed answer, with a decide plan — at 1280×800 and at 390×844; and the keyboard:
 * Tab reaches each page's navigation and form, every stop showing a visible focus indicator.
 */
// Each page is audited in several states at two widths (about 30 audits, 0.1 to 0.5 s each).
describe.skipIf(!chromiumAvailable)("console accessibility: axe audit and keyboard", { timeout: 180_000 }, () => {
  const providerKey = `sk-a11y-${randomBytes(12).toString("hex")}`
  let mock: MockProvider
  let ui: ConsoleBrowser
  let page: ConsoleBrowser["page"]

  /** The audit at the desktop and the phone viewport; the failures of both. */
  const auditBothWidths = async (name: string) => {
    await ui.record()
    const desktop = await ui.audit(`${name} at 1280`)
    await page.setViewportSize({ width: 390, height: 844 })
    const phone = await ui.audit(`${name} at 390`)
    await page.setViewportSize({ width: 1280, height: 800 })
    return [...desktop, ...phone]
  }

  /**
   * Tabs from the top of the page (the skip link, when signed in) until `submit` has focus,
   * collecting every stop; fails when it is not reached within `limit` stops.
   */
  const tabTo = async (submit: string, limit = 80): Promise<ReadonlyArray<Focused>> => {
    await page.evaluate("document.activeElement?.blur(); window.scrollTo(0, 0)")
    await page.evaluate(
      "document.body.setAttribute('tabindex', '-1'); document.body.focus(); document.body.removeAttribute('tabindex')",
    )
    const stops: Array<Focused> = []
    for (let step = 0; step < limit; step++) {
      await page.keyboard.press("Tab")
      const focused = (await page.evaluate(DESCRIBE_FOCUS)) as Focused
      stops.push(focused)
      if (focused.element === `button "${submit}"`) return stops
    }
    throw new Error(`Tab never reached the button "${submit}"; stops: ${stops.map((s) => s.element).join(", ")}`)
  }

  /** The stops without a visible focus indicator, or whose outline contrasts less than 3:1. */
  const unseen = (stops: ReadonlyArray<Focused>) =>
    stops.filter((stop) => !stop.indicated || stop.contrast < 3).map((stop) => `${stop.element} (${stop.contrast}:1)`)

  beforeAll(async () => {
    mock = await startMockProvider({ models: ["gpt-4o-mini"], apiKeys: [providerKey] })
    ui = await startConsoleBrowser()
    page = ui.page
    const created = await ui.manage("POST", "/providers", {
      id: "mock",
      name: "Mock provider",
      protocol: "openai",
      base_url: mock.url,
      models: ["gpt-4o-mini"],
      keys: [{ key: providerKey, label: "default" }],
    })
    expect(created.status).toBe(201)
    const model = await ui.manage("POST", "/logical-models", {
      id: "team-fast",
      upstreams: [{ provider: "mock", model: "gpt-4o-mini" }],
    })
    expect(model.status).toBe(201)
  })

  afterAll(async () => {
    await ui?.close()
    await mock?.close()
  })

  it("sign-in form: no violation; Tab goes username, password, Sign in, each focus visible", async () => {
    await page.goto(ui.url("/ui/providers"))
    await page.getByRole("button", { name: "Sign in" }).waitFor()
    expect(await auditBothWidths("sign-in")).toEqual([])
    const stops = await tabTo("Sign in")
    expect(stops.map((stop) => stop.element)).toEqual([
      'input "Username or email"',
      'input "Password"',
      'button "Sign in"',
    ])
    expect(unseen(stops)).toEqual([])
    // A failed sign-in's alert is audited too.
    await page.getByLabel("Username or email", { exact: true }).fill(ui.admin.username)
    await page.getByLabel("Password", { exact: true }).fill("not the password")
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("alert").waitFor()
    expect(await auditBothWidths("sign-in refused")).toEqual([])
  })

  it("Providers with a provider listed: no violation; Tab reaches every link, the table's controls and Add provider", async () => {
    await ui.signIn()
    await page.getByRole("heading", { name: "Providers", level: 1 }).waitFor()
    await page
      .getByRole("row")
      .filter({ hasText: "Mock provider" })
      .getByText(/^healthy/)
      .waitFor()
    expect(await auditBothWidths("providers")).toEqual([])
    const stops = await tabTo("Add provider")
    const names = stops.map((stop) => stop.element)
    expect(names.slice(0, 10)).toEqual([
      'a "Skip to content"',
      'a "Providers"',
      'a "Logical models"',
      'a "API keys"',
      'a "Users"',
      'a "Playground"',
      'a "Request log"',
      'a "Usage"',
      'a "Account"',
      'button "Sign out"',
    ])
    expect(names).toContain('button "Recheck the health of mock"')
    expect(names).toContain('summary "Add a key"')
    expect(names).toContain('input "API key"')
    expect(unseen(stops)).toEqual([])
    // The add-a-key form opened in the table.
    await page.getByText("Add a key").click()
    expect(await auditBothWidths("providers add key")).toEqual([])
    // A provider's detail: settings, custom headers, models and prices.
    await page.getByRole("button", { name: "Manage mock" }).click()
    await page.getByRole("heading", { name: /^Provider mock/ }).waitFor()
    expect(await auditBothWidths("provider detail")).toEqual([])
  })

  it("API keys with a key and the key-created dialog: no violation; Tab reaches Copy, Done and Create key", async () => {
    await ui.nav("API keys").click()
    await page.getByRole("heading", { name: "API keys", level: 1 }).waitFor()
    await page.getByLabel("Name", { exact: true }).fill("a11y")
    await page.getByRole("button", { name: "Create key" }).click()
    await page.getByLabel("The new API key", { exact: true }).waitFor()
    await page.getByRole("row").filter({ hasText: "a11y" }).waitFor()
    expect(await auditBothWidths("key created")).toEqual([])
    const stops = await tabTo("Create key")
    const names = stops.map((stop) => stop.element)
    expect(names).toContain('input "The new API key"')
    expect(names.indexOf('button "Copy"')).toBeLessThan(names.indexOf('button "Done"'))
    expect(names).toContain('input "Name"')
    expect(names).toContain('select "Expires"')
    expect(unseen(stops)).toEqual([])
    ;(globalThis as { a11yToken?: string }).a11yToken = await page
      .getByLabel("The new API key", { exact: true })
      .inputValue()
    await page.getByRole("button", { name: "Done" }).click()
    expect(await auditBothWidths("api keys")).toEqual([])
    expect(unseen(await tabTo("Revoke a11y"))).toEqual([])
  })

  it("Playground after a streamed answer: no violation; Tab reaches the key, model, message and Send", async () => {
    mock.script({ chunks: ["Hello", " from", " the", " mock."], chunkDelayMs: 20 })
    await ui.nav("Playground").click()
    await page.getByRole("heading", { name: "Playground", level: 1 }).waitFor()
    expect(await auditBothWidths("playground empty")).toEqual([])
    await page.getByLabel("API key", { exact: true }).fill((globalThis as { a11yToken?: string }).a11yToken!)
    await page.getByRole("button", { name: "Load models" }).click()
    await page.getByLabel("Model", { exact: true }).selectOption("gpt-4o-mini")
    await page.getByLabel("Message", { exact: true }).fill("Say hello")
    await page.getByRole("button", { name: "Send" }).click()
    await page.getByText("Complete.").waitFor()
    await page.locator("dl.facts").waitFor()
    expect(await auditBothWidths("playground answered")).toEqual([])
    const stops = await tabTo("Send")
    const names = stops.map((stop) => stop.element)
    expect(names).toEqual(
      expect.arrayContaining(['input "API key"', 'button "Load models"', 'select "Model"', 'textarea "Message"']),
    )
    expect(unseen(stops)).toEqual([])
  })

  it("Request log with the playground's request open: no violation; Tab reaches the filters' Apply", async () => {
    await ui.nav("Request log").click()
    await page.getByRole("heading", { name: "Request log", level: 1 }).waitFor()
    const details = page.getByRole("button", { name: /^Details of the request / }).first()
    // The log is written in batches: refresh until the playground's request is listed.
    await expect
      .poll(
        async () => {
          if ((await details.count()) > 0) return true
          await page.getByRole("button", { name: "Refresh" }).click()
          await page.getByText("Loading…").waitFor({ state: "detached" })
          return (await details.count()) > 0
        },
        { timeout: 20_000, interval: 250 },
      )
      .toBe(true)
    await details.click()
    await page.locator(`#${await details.getAttribute("aria-controls")}`).waitFor()
    expect(await auditBothWidths("request log")).toEqual([])
    expect(unseen(await tabTo("Apply filters"))).toEqual([])
  })

  it("Usage with the playground's request counted, and Users: no violation; Tab reaches Add user", async () => {
    await ui.nav("Usage").click()
    await page.getByRole("heading", { name: "Usage", level: 1 }).waitFor()
    await page
      .getByRole("status")
      .filter({ hasText: /\d+ requests?, / })
      .waitFor()
    await page.locator("figure.chart").first().waitFor()
    expect(await auditBothWidths("usage")).toEqual([])
    expect(unseen(await tabTo("Refresh", 40))).toEqual([])
    await ui.nav("Users").click()
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor()
    await page.getByText("Loading…").waitFor({ state: "detached" })
    expect(await auditBothWidths("users")).toEqual([])
    expect(unseen(await tabTo("Add user"))).toEqual([])
  })

  it("Account: no violation; Tab reaches the three password fields and Change password", async () => {
    await ui.nav("Account").click()
    await page.getByRole("heading", { name: "Account", level: 1 }).waitFor()
    expect(await auditBothWidths("account")).toEqual([])
    const stops = await tabTo("Change password")
    expect(stops.map((stop) => stop.element).slice(-4)).toEqual([
      'input "Current password"',
      'input "New password"',
      'input "New password again"',
      'button "Change password"',
    ])
    expect(unseen(stops)).toEqual([])
  })

  it("Logical models with a model and a decide plan: no violation; Tab reaches Create and Decide", async () => {
    await ui.nav("Logical models").click()
    await page.getByRole("heading", { name: "Logical models", level: 1 }).waitFor()
    await page.getByRole("rowheader", { name: "team-fast" }).waitFor()
    await page.getByLabel("Model name", { exact: true }).fill("team-fast")
    await page.getByRole("button", { name: "Decide", exact: true }).click()
    await page.getByRole("table").filter({ hasText: "Confidence" }).waitFor()
    expect(await auditBothWidths("logical models")).toEqual([])
    const stops = await tabTo("Decide", 120)
    const names = stops.map((stop) => stop.element)
    expect(names).toContain('button "Edit team-fast"')
    expect(names).toContain('button "Create logical model"')
    expect(names.indexOf('button "Create logical model"')).toBeLessThan(names.indexOf('input "Model name"'))
    expect(unseen(stops)).toEqual([])
    // The editor of an existing model.
    await page.getByRole("button", { name: "Edit team-fast" }).click()
    await page.getByRole("button", { name: "Save changes" }).waitFor()
    expect(await auditBothWidths("logical model edit")).toEqual([])
  })

  it("the audit is no rubber stamp: grey-on-white text and an unlabelled field are reported", async () => {
    // Built with the DOM API: the console's CSP refuses inline style attributes in markup.
    await page.evaluate(`(() => {
      const planted = document.createElement("div")
      planted.id = "planted"
      const faint = document.createElement("p")
      faint.textContent = "faint"
      faint.style.color = "#aaa"
      faint.style.background = "#fff"
      planted.append(faint, document.createElement("input"))
      document.querySelector("main").append(planted)
    })()`)
    const found = await ui.audit("planted")
    await page.evaluate(`document.getElementById("planted").remove()`)
    expect(
      found.some((line) => line.startsWith("planted: color-contrast (serious)") && line.includes("#planted > p")),
    ).toBe(true)
    expect(found.some((line) => /^planted: label \(critical\).*#planted > input/.test(line))).toBe(true)
    expect(await ui.audit("after")).toEqual([])
  })

  it("reached no other origin, met no script error, and never showed the provider key", () => {
    expect(ui.blocked).toEqual([])
    // The refused sign-in is a 401, which the browser logs.
    expect(ui.pageErrors.filter((message) => !/status of 401/.test(message))).toEqual([])
    expect(ui.seen.filter((text) => text.includes(providerKey.slice(0, -4)))).toEqual([])
  })
})
