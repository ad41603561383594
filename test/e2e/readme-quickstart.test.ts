import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mainEntry } from "../support/EntryPoint.js"
import { freePort } from "../support/GatewayProcess.js"
import { containsInOrder } from "../support/InOrder.js"
import { promisedFragments, type ReadmeBlock, readmeBlocks } from "../support/ReadmeBlocks.js"

/**
 * The README's quick start, run as a reader would: every block marked `<!-- readme-quickstart: … -->`
 * in order, with bash (and `node hello.mjs` for the SDK snippet, against the installed `openai`),
 * in a directory laid out like a checkout (examples/demo.yaml, node_modules), against `apiproxy demo`
 * processes this test starts itself on free ports with a fresh DATA_DIR — the embedded backend
 * only, whatever DATABASE_URL says. The blocks reach them through APIPROXY_URL, MOCK_URL and
 * UPSTREAM_URL (the README's defaults are the demo's fixed ports). Every `# → …` a block shows must
 * be in what it printed.
 */
const root = fileURLToPath(new URL("../../", import.meta.url))
const blocks = readmeBlocks(fs.readFileSync(path.join(root, "README.md"), "utf8"))
const ofKind = (kind: string) => blocks.filter((block) => block.kind === kind)

interface Demo {
  readonly dir: string
  readonly url: string
  readonly mockUrl: string
  readonly stdout: () => string
  readonly stop: () => Promise<void>
}

/** `npm run demo` in a fresh directory like a checkout, the demo's providers file on a free mock port. */
const startDemo = async (env: Readonly<Record<string, string>>): Promise<Demo> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-readme-"))
  for (const link of ["node_modules", "package.json", "src", "tsconfig.json"])
    fs.symlinkSync(path.join(root, link), path.join(dir, link))
  const [port, mockPort] = [await freePort(), await freePort()]
  const providers = fs.readFileSync(path.join(root, "examples/demo.yaml"), "utf8")
  expect(providers.match(/http:\/\/127\.0\.0\.1:8089/g)).toHaveLength(3)
  fs.mkdirSync(path.join(dir, "examples"))
  fs.writeFileSync(
    path.join(dir, "examples/demo.yaml"),
    providers.replaceAll("127.0.0.1:8089", `127.0.0.1:${mockPort}`),
  )
  const child: ChildProcess = spawn(process.execPath, [...mainEntry(), "demo"], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      MOCK_PROVIDER_PORT: String(mockPort),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => (stdout += String(chunk)))
  child.stderr!.on("data", (chunk) => (stderr += String(chunk)))
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  let gone = false
  void exited.then(() => (gone = true))
  const stop = async () => {
    if (!gone) {
      child.kill("SIGTERM")
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
      if (!gone) child.kill("SIGKILL")
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 150_000
  while (!/^=+$/m.test(stdout.split("APIProxy demo")[1] ?? "")) {
    if (gone || Date.now() > deadline) {
      await stop()
      throw new Error(
        `the demo did not print its banner${gone ? " (it exited)" : ""}\n${stdout}\n${stderr.slice(-2000)}`,
      )
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { dir, url: `http://127.0.0.1:${port}`, mockUrl: `http://127.0.0.1:${mockPort}`, stdout: () => stdout, stop }
}

/** A block may start a process (`npm run apiproxy`): minutes on a loaded machine are not a failure. */
const BLOCK_TIMEOUT = 90_000

/**
 * A block in bash (`set -euo pipefail`) in the demo's directory; what it exported is kept in
 * `.readme-env` for the next block, as in one terminal.
 */
const runBlock = (demo: Demo, code: string, env: Readonly<Record<string, string>>) => {
  const script = `set -euo pipefail\n[ -f .readme-env ] && source .readme-env\ntrap 'export -p > .readme-env' EXIT\n${code}\n`
  const run = spawnSync("bash", ["-c", script], {
    cwd: demo.dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: "utf8",
    timeout: BLOCK_TIMEOUT - 5_000,
  })
  return { code: run.status, stdout: run.stdout, stderr: run.stderr }
}

const expectPromisedOutput = (block: ReadmeBlock, stdout: string) => {
  const fragments = promisedFragments(block)
  expect(fragments.length, `README line ${block.line}: the block shows what it prints`).toBeGreaterThan(0)
  expect(
    containsInOrder(stdout, fragments),
    `README line ${block.line} promises ${JSON.stringify(fragments)}; it printed:\n${stdout}`,
  ).toBe(true)
}

describe("README quick start against demo gateways this test starts (embedded backend, fresh DATA_DIR)", () => {
  it("marks the blocks this test runs; the start commands are `npm run demo`, which runs src/main.ts demo", () => {
    expect(blocks.map((block) => block.kind)).toEqual([
      "start",
      "shell",
      "hello.mjs",
      "shell",
      "real providers",
      "start walkthrough",
      "walkthrough",
    ])
    expect(ofKind("start")[0]!.code).toBe("npm ci && npm run demo")
    expect(ofKind("start walkthrough")[0]!.code).toMatch(/^(?:[A-Z_]+=\S+ )+npm run demo$/)
    const scripts = (
      JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }
    ).scripts
    expect(scripts.demo).toBe("node dist/gateway/main.js demo")
  })

  describe("Try it: npm run demo, the curl, the SDK snippet, failover, a providers file of one's own", () => {
    let demo: Demo
    let env: Record<string, string>
    beforeAll(async () => {
      demo = await startDemo({})
      env = { APIPROXY_URL: demo.url, MOCK_URL: demo.mockUrl }
    }, 180_000)
    afterAll(() => demo?.stop())

    it("the demo prints the README's way to the API key", () => {
      const keyLine = ofKind("shell")[0]!
        .code.split("\n")
        .find((line) => line.startsWith("export APIPROXY_KEY="))!
      expect(demo.stdout()).toContain(keyLine)
      expect(demo.stdout()).toContain(`${demo.url}/v1/chat/completions`)
    })

    it(
      "the curl answers with the mock's text",
      () => {
        const block = ofKind("shell")[0]!
        const run = runBlock(demo, block.code, env)
        expect(run, run.stderr).toMatchObject({ code: 0 })
        expect(run.stdout).toContain(`"content":"Hello from mock: Hello"`)
        expectPromisedOutput(block, run.stdout)
      },
      BLOCK_TIMEOUT,
    )

    it(
      "the SDK snippet, saved as hello.mjs and run with node, streams the answer",
      () => {
        const block = ofKind("hello.mjs")[0]!
        fs.writeFileSync(path.join(demo.dir, "hello.mjs"), block.code)
        const run = runBlock(demo, "node hello.mjs", env)
        expect(run, run.stderr).toMatchObject({ code: 0 })
        expect(run.stdout).toBe("Hello from mock: Hello\n")
        expectPromisedOutput(block, run.stdout)
      },
      BLOCK_TIMEOUT,
    )

    it(
      "a 503 scripted at the mock: the logical model fails over to mock-anthropic",
      () => {
        const block = ofKind("shell")[1]!
        const run = runBlock(demo, block.code, env)
        expect(run, run.stderr).toMatchObject({ code: 0 })
        expect(run.stdout).toMatch(/^x-apiproxy-provider: mock-anthropic\r?$/m)
        expectPromisedOutput(block, run.stdout)
      },
      BLOCK_TIMEOUT,
    )

    it(
      "the real providers' file is valid: check-config says so",
      () => {
        const block = ofKind("real providers")[0]!
        const run = runBlock(demo, block.code, {})
        expect(run, run.stderr).toMatchObject({ code: 0 })
        expectPromisedOutput(block, run.stdout)
      },
      BLOCK_TIMEOUT,
    )
  })

  describe("the management walkthrough: BOOTSTRAP_ADMIN=false, the first superuser over HTTP", () => {
    let demo: Demo
    beforeAll(async () => {
      const start = ofKind("start walkthrough")[0]!.code
      const startEnv = Object.fromEntries([...start.matchAll(/([A-Z_]+)=(\S+) /g)].map((m) => [m[1]!, m[2]!]))
      demo = await startDemo(startEnv)
    }, 180_000)
    afterAll(() => demo?.stop())

    it(
      "init, login, a provider, an application key, and the application's call all work",
      () => {
        const run = runBlock(demo, ofKind("walkthrough")[0]!.code, {
          APIPROXY_URL: demo.url,
          UPSTREAM_URL: demo.mockUrl,
        })
        expect(run, run.stderr).toMatchObject({ code: 0 })
        const admin = JSON.parse(fs.readFileSync(path.join(demo.dir, "admin.json"), "utf8")) as Record<string, unknown>
        expect(admin).toMatchObject({ user_id: expect.any(String), password: expect.any(String) })
        expect(fs.existsSync(path.join(demo.dir, "data-walkthrough"))).toBe(true) // its DATA_DIR
        expect(fs.existsSync(path.join(demo.dir, "data-walkthrough", "admin-credentials.txt"))).toBe(false)
        expect(run.stdout).toMatch(/"id":"openai"/)
        expect(run.stdout).toMatch(/"content":"Hello from mock: Hello"/)
      },
      BLOCK_TIMEOUT,
    )
  })
})
