import { type ChildProcess, spawn } from "node:child_process"
import * as net from "node:net"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TEST_SECRET_KEY } from "../support/TestConfig.js"
import { createStorage, type SharedStorage } from "../support/TestGateway.js"

/**
 * Issue 11, item 12: the gateway started as a process (`node --import tsx src/main.ts`) whose
 * standard error and output go to a pipe nobody reads any more (`apiproxy 2>&1 | head` after
 * `head` exited). Every log line then fails with EPIPE; the gateway must drop them and keep
 * serving.
 */

const root = fileURLToPath(new URL("../../", import.meta.url))

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const health = async (url: string): Promise<number> => {
  try {
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) })).status
  } catch {
    return 0
  }
}

describe("a closed standard error", () => {
  let storage: SharedStorage
  let child: ChildProcess
  let url: string
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined

  beforeAll(async () => {
    storage = await createStorage()
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, ...storage.env })) if (v !== undefined) env[k] = v
    child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: root,
      env: { ...env, PORT: String(port), HOST: "127.0.0.1", NODE_ENV: "test", SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: "INFO", BOOTSTRAP_ADMIN: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    })
    child.once("exit", (code, signal) => (exit = { code, signal }))
    let startup = ""
    child.stderr!.on("data", (chunk) => (startup += String(chunk)))
    const deadline = Date.now() + 40_000
    while ((await health(url)) !== 200) {
      if (exit !== undefined) throw new Error(`the gateway exited during start-up: ${JSON.stringify(exit)}\n${startup.slice(-2000)}`)
      if (Date.now() > deadline) throw new Error(`the gateway did not start within 40 s\n${startup.slice(-2000)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
    // Now the reader goes away, like `head` after its lines: every later write fails (EPIPE).
    child.stdout!.destroy()
    child.stderr!.destroy()
  }, 60_000)

  afterAll(async () => {
    if (child && exit === undefined) {
      const exited = new Promise((r) => child.once("exit", r))
      child.kill("SIGTERM")
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))])
      if (exit === undefined) child.kill("SIGKILL")
    }
    await storage?.close()
  })

  it("drops its log lines and keeps serving", async () => {
    const started = Date.now()
    let ok = 0
    // Each request writes an access line (and the unknown path a 404 one) into the closed pipe.
    for (let round = 0; round < 20; round++) {
      const statuses = await Promise.all(
        Array.from({ length: 25 }, (_, i) => (i % 5 === 0 ? fetch(`${url}/no-such-path`).then((r) => r.status) : health(url))),
      )
      ok += statuses.filter((s) => s === 200).length
      await new Promise((r) => setImmediate(r))
    }
    // The lines are flushed once per event-loop turn: give the last batch time to fail too.
    await new Promise((r) => setTimeout(r, 300))
    const last = await health(url)
    console.log(
      `closed stderr: 500 requests (500 access lines) in ${Date.now() - started} ms, ${ok} /health answers 200, process exited: ${exit !== undefined}`,
    )
    expect(exit).toBeUndefined()
    expect(ok).toBe(400)
    expect(last).toBe(200)
  })
})
