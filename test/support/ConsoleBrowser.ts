import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core"
import { buildConsole } from "../../scripts/build-console.js"
import type { TestEnv } from "./TestConfig.js"
import { startTestGateway, type TestGateway } from "./TestGateway.js"

/**
 * The web console in a real browser (Debian's chromium, driven by playwright-core) against a real
 * gateway serving a freshly built console. The browser may reach loopback only: every other
 * request is blocked and recorded in `blocked`. Everything pages displayed (`record`) or answered
 * as JSON is kept in `seen`, for tests that check a secret was never shown. Screenshots go to a
 * temp folder, or to docs/console/ (the README shows them) with UPDATE_SCREENSHOTS=1.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
export const chromiumAvailable = fs.existsSync(CHROMIUM)
if (!chromiumAvailable)
  console.warn(`console browser tests skipped: no chromium at ${CHROMIUM} (apt-get install -y chromium)`)

/** Headless, and without the background connections a closed network refuses. */
const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"])

/** The rules an audit runs: WCAG 2.0 and 2.1, levels A and AA (colour contrast included). */
export const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] as const

/**
 * axe-core's engine, the copy @axe-core/playwright pins. Its builder injected the 0.5 MB script
 * and opened a blank page for every audit (about 1 s each, 30 audits a file); the console has no
 * frames, so the script is injected once per document and `axe.run` is called in the page itself.
 */
const AXE_SOURCE = fs.readFileSync(
  createRequire(createRequire(import.meta.url).resolve("@axe-core/playwright")).resolve("axe-core/axe.min.js"),
  "utf8",
)

/** In the page: axe's WCAG run, only violations collected (passes cost time and are not read). */
const RUN_AXE = `(async () => {
  const results = await window.axe.run(document, {
    runOnly: { type: "tag", values: ${JSON.stringify(WCAG_TAGS)} },
    resultTypes: ["violations"],
  })
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node) => ({ impact: node.impact, target: node.target, failureSummary: node.failureSummary })),
  }))
})()`

interface Violation {
  readonly id: string
  readonly impact?: string | null
  readonly help: string
  readonly nodes: ReadonlyArray<{
    readonly impact?: string | null
    readonly target: ReadonlyArray<unknown>
    readonly failureSummary?: string
  }>
}

/**
 * Runs axe-core on the page as it is now and returns one line per failing element:
 * `<name>: <rule> (<impact>) <help> — <element> — <what axe says to fix>`, so a test's
 * `expect(await ui.audit("x")).toEqual([])` names exactly what to fix.
 */
export const auditPage = async (page: Page, name: string): Promise<ReadonlyArray<string>> => {
  if (!(await page.evaluate<boolean>('typeof window.axe?.run === "function"'))) await page.evaluate(AXE_SOURCE)
  const violations = await page.evaluate<ReadonlyArray<Violation>>(RUN_AXE)
  return violations.flatMap((violation) =>
    violation.nodes.map(
      (node) =>
        `${name}: ${violation.id} (${node.impact ?? violation.impact ?? "unknown"}) ${violation.help} — ` +
        `${node.target.join(" ")} — ${(node.failureSummary ?? "").replace(/\s*\n\s*/g, " ")}`,
    ),
  )
}

export interface ConsoleBrowser {
  readonly gateway: TestGateway
  readonly page: Page
  /** The bootstrap superuser's credentials (from `DATA_DIR/admin-credentials.txt`). */
  readonly admin: { username: string; password: string }
  /** Requests the browser tried to send anywhere but loopback. */
  readonly blocked: ReadonlyArray<string>
  /** Page markup, input values and JSON answers seen so far. */
  readonly seen: ReadonlyArray<string>
  /** Script errors and console errors of the page. */
  readonly pageErrors: ReadonlyArray<string>
  readonly url: (pathname: string) => string
  /** Keeps the page's markup and every input's value in `seen`. */
  readonly record: () => Promise<void>
  /** `record`, then a screenshot named `<name>.png`. */
  readonly shoot: (name: string) => Promise<void>
  /** A link of the console's navigation. */
  readonly nav: (name: string) => Locator
  /** Signs in through the sign-in form (the page must show it). */
  readonly signIn: (credentials?: { readonly username: string; readonly password: string }) => Promise<void>
  /** An accessibility audit (WCAG 2.1 A and AA) of the page as it is now: one line per failure, empty when none. */
  readonly audit: (name: string) => Promise<ReadonlyArray<string>>
  /** Calls the management API with the gateway's master key. */
  readonly manage: (method: string, pathname: string, body?: unknown) => Promise<Response>
  readonly close: () => Promise<void>
}

export const startConsoleBrowser = async (options: { readonly env?: TestEnv } = {}): Promise<ConsoleBrowser> => {
  const updateScreenshots = process.env.UPDATE_SCREENSHOTS === "1"
  const screenshotDir = updateScreenshots
    ? path.resolve("docs/console")
    : fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-shots-"))
  const consoleDir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-console-"))
  const blocked: Array<string> = []
  const seen: Array<string> = []
  const pageErrors: Array<string> = []
  let gateway: TestGateway | undefined
  let browser: Browser | undefined
  const close = async () => {
    await browser?.close()
    await gateway?.close()
    fs.rmSync(consoleDir, { recursive: true, force: true })
    if (!updateScreenshots) fs.rmSync(screenshotDir, { recursive: true, force: true })
  }
  try {
    await buildConsole(consoleDir)
    gateway = await startTestGateway({ env: { ...options.env, CONSOLE_DIR: consoleDir } })
    const credentials = fs.readFileSync(path.join(gateway.env.get("DATA_DIR")!, "admin-credentials.txt"), "utf8")
    const admin = {
      username: /^username: (.+)$/m.exec(credentials)![1]!,
      password: /^password: (.+)$/m.exec(credentials)![1]!,
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS })
    const context: BrowserContext = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      serviceWorkers: "block",
    })
    await context.route("**/*", (route) => {
      const url = new URL(route.request().url())
      if (url.protocol === "data:" || LOOPBACK.has(url.hostname)) return route.continue()
      blocked.push(route.request().url())
      return route.abort("blockedbyclient")
    })
    context.setDefaultTimeout(10_000)
    const page = await context.newPage()
    page.on("pageerror", (error) => pageErrors.push(error.message))
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text())
    })
    page.on("response", async (response) => {
      if ((response.headers()["content-type"] ?? "").includes("json")) seen.push(await response.text().catch(() => ""))
    })
    page.on("dialog", (dialog) => void dialog.accept())

    const started = gateway
    const record = async () => {
      seen.push(await page.content())
      seen.push(
        ...(await page.$$eval("input, textarea", (fields) =>
          fields.map((field) => (field as unknown as { readonly value: string }).value),
        )),
      )
    }
    return {
      gateway: started,
      page,
      admin,
      blocked,
      seen,
      pageErrors,
      url: (pathname) => `${started.url}${pathname}`,
      record,
      shoot: async (name) => {
        await record()
        await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) })
      },
      nav: (name) => page.getByRole("navigation", { name: "Console" }).getByRole("link", { name }),
      signIn: async (credentials = admin) => {
        await page.getByLabel("Username or email", { exact: true }).fill(credentials.username)
        await page.getByLabel("Password", { exact: true }).fill(credentials.password)
        await page.getByRole("button", { name: "Sign in" }).click()
        await page.getByRole("navigation", { name: "Console" }).waitFor()
      },
      audit: (name) => auditPage(page, name),
      manage: (method, pathname, body) =>
        fetch(`${started.url}${pathname}`, {
          method,
          headers: {
            authorization: `Bearer ${started.masterKey}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      close,
    }
  } catch (failure) {
    await close()
    throw failure
  }
}
