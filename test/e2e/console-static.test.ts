import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { buildConsole } from "../../scripts/build-console.js"
import { CONSOLE_CSP } from "../../src/http/ConsoleRoutes.js"
import { rawRequest } from "../support/RawHttp.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/** The gateway serving the web console from a fresh build: files, caching, CSP, and nothing else of the disk. */
describe("the web console's files (/ui)", () => {
  let gateway: TestGateway
  let dir: string
  let port: number
  let script: string
  let style: string

  beforeAll(async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-console-"))
    dir = path.join(parent, "console")
    const sizes = await buildConsole(dir)
    script = Object.keys(sizes).find((file) => file.endsWith(".js"))!
    style = Object.keys(sizes).find((file) => file.endsWith(".css"))!
    // Files that are in the folder but never part of the console; and one beside the folder.
    fs.writeFileSync(path.join(dir, "notes.txt"), "not served")
    fs.writeFileSync(path.join(dir, ".hidden.js"), "not served")
    fs.writeFileSync(path.join(parent, "secret.json"), '{"secret":"outside-the-console"}')
    gateway = await startTestGateway({ env: { CONSOLE_DIR: dir } })
    port = Number(new URL(gateway.url).port)
  })
  afterAll(async () => {
    await gateway?.close()
    fs.rmSync(path.dirname(dir), { recursive: true, force: true })
  })

  it("/ redirects to /ui/, which serves the page with a strict CSP and no-cache", async () => {
    const root = await fetch(`${gateway.url}/`, { redirect: "manual" })
    expect([root.status, root.headers.get("location")]).toEqual([302, "/ui/"])
    for (const target of ["/ui", "/ui/"]) {
      const page = await fetch(`${gateway.url}${target}`)
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(page.headers.get("content-security-policy")).toBe(CONSOLE_CSP)
      expect(page.headers.get("content-security-policy")).toMatch(/^default-src 'self';/)
      expect(page.headers.get("x-content-type-options")).toBe("nosniff")
      expect(page.headers.get("x-frame-options")).toBe("DENY")
      expect(page.headers.get("cache-control")).toBe("no-cache")
      const html = await page.text()
      expect(html).toContain(`src="/ui/${script}"`)
      expect(html).toContain(`href="/ui/${style}"`)
      // Nothing in the page loads from another origin.
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//)
    }
  })

  it("serves the hashed script and style with their types, cached for a year, and answers 304 to a matching ETag", async () => {
    for (const [file, type] of [
      [script, "text/javascript; charset=utf-8"],
      [style, "text/css; charset=utf-8"],
    ] as const) {
      const answer = await fetch(`${gateway.url}/ui/${file}`)
      expect(answer.status).toBe(200)
      expect(answer.headers.get("content-type")).toBe(type)
      expect(answer.headers.get("cache-control")).toBe("public, max-age=31536000, immutable")
      const body = Buffer.from(await answer.arrayBuffer())
      expect(body.equals(fs.readFileSync(path.join(dir, file)))).toBe(true)
      const etag = answer.headers.get("etag")!
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/)
      const again = await fetch(`${gateway.url}/ui/${file}`, { headers: { "if-none-match": `"other", ${etag}` } })
      expect([again.status, await again.text()]).toEqual([304, ""])
    }
    const page = await fetch(`${gateway.url}/ui/`)
    const revalidated = await fetch(`${gateway.url}/ui/`, { headers: { "if-none-match": page.headers.get("etag")! } })
    expect(revalidated.status).toBe(304)
  })

  it("answers every console page with index.html (the app routes it), and 404 for a file it does not have", async () => {
    const index = await (await fetch(`${gateway.url}/ui/`)).text()
    for (const page of ["providers", "keys", "playground", "account", "no-such-page"]) {
      const answer = await fetch(`${gateway.url}/ui/${page}`)
      expect([page, answer.status, await answer.text()]).toEqual([page, 200, index])
    }
    for (const missing of [
      "app-00000000.js",
      "notes.txt",
      ".hidden.js",
      "providers/deeper",
      "index.html/x",
      "Providers..",
    ]) {
      const answer = await fetch(`${gateway.url}/ui/${missing}`)
      expect([missing, answer.status]).toEqual([missing, 404])
      expect(answer.headers.get("content-type")).toContain("application/json")
    }
  })

  it("never serves a file outside the console's folder, however the path is written", async () => {
    const targets = [
      "/ui/../package.json",
      "/ui/../../package.json",
      "/ui/%2e%2e/package.json",
      "/ui/..%2fpackage.json",
      "/ui/%2e%2e%2fpackage.json",
      "/ui/%2E%2E%2F%2E%2E%2Fpackage.json",
      "/ui/..%5cpackage.json",
      "/ui/..\\package.json",
      "/ui/../secret.json",
      "/ui/%2e%2e/secret.json",
      "/ui/..%2fsecret.json",
      "/ui//etc/passwd",
      "/ui/%2fetc%2fpasswd",
      "/ui/./index.html",
      "/ui/%00index.html",
      "/ui/index.html%00.js",
      "/ui/providers/../../package.json",
      "/ui/%252e%252e%252fpackage.json",
    ]
    for (const target of targets) {
      const answer = await rawRequest(port, { method: "GET", target })
      expect(answer, target).toBeDefined()
      expect([target, answer!.status]).toEqual([target, answer!.status === 400 ? 400 : 404])
      expect(answer!.body).not.toContain('"name": "apiproxy"')
      expect(answer!.body).not.toContain("outside-the-console")
      expect(answer!.body).not.toContain("root:")
    }
  })

  it("is read-only: another method is 405 with Allow: GET", async () => {
    const answer = await fetch(`${gateway.url}/ui/`, { method: "POST", body: "x" })
    expect(answer.status).toBe(405)
    expect(answer.headers.get("allow")).toBe("GET")
  })
})

describe("a gateway without a built console", () => {
  it("starts, and /ui says the console is not built (503)", async () => {
    const gateway = await startTestGateway({ env: { CONSOLE_DIR: path.join(os.tmpdir(), "apiproxy-no-console-here") } })
    try {
      const answer = await fetch(`${gateway.url}/ui/`)
      expect(answer.status).toBe(503)
      expect(((await answer.json()) as { message: string }).message).toContain("npm run build")
      expect((await fetch(`${gateway.url}/health`)).status).toBe(200)
    } finally {
      await gateway.close()
    }
  })
})
