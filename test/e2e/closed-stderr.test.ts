import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type GatewayProcess, startGatewayProcess } from "../support/GatewayProcess.js"
import { createStorage, type SharedStorage } from "../support/TestGateway.js"

/**
 * Issue 11, item 12: the gateway started as a process (`node --import tsx src/main.ts`) whose
 * standard error and output go to a pipe nobody reads any more (`apiproxy 2>&1 | head` after
 * `head` exited). Every log line then fails with EPIPE; the gateway must drop them and keep
 * serving.
 */

const health = async (url: string): Promise<number> => {
  try {
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) })).status
  } catch {
    return 0
  }
}

describe("a closed standard error", () => {
  let storage: SharedStorage
  let gateway: GatewayProcess
  let url: string
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined

  beforeAll(async () => {
    storage = await createStorage()
    gateway = await startGatewayProcess({
      storage,
      env: { LOG_LEVEL: "INFO", BOOTSTRAP_ADMIN: "true" },
      stdout: "pipe",
    })
    url = gateway.url
    void gateway.exited.then(({ code, signal }) => (exit = { code, signal }))
    // Now the reader goes away, like `head` after its lines: every later write fails (EPIPE).
    gateway.child.stdout!.destroy()
    gateway.child.stderr!.destroy()
  }, 60_000)

  afterAll(async () => {
    await gateway?.stop()
    await storage?.close()
  })

  it("drops its log lines and keeps serving", async () => {
    const started = Date.now()
    let ok = 0
    // Each request writes an access line (and the unknown path a 404 one) into the closed pipe.
    for (let round = 0; round < 20; round++) {
      const statuses = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          i % 5 === 0 ? fetch(`${url}/no-such-path`).then((r) => r.status) : health(url),
        ),
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
