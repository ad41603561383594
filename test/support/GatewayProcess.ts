import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { mainEntry } from "./EntryPoint.js"
import { TEST_SECRET_KEY } from "./TestConfig.js"
import type { SharedStorage } from "./TestGateway.js"

const root = fileURLToPath(new URL("../../", import.meta.url))

/** A free loopback port (the gateway process is told it, so the test knows where to call). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

export interface GatewayProcess {
  readonly child: ChildProcess
  readonly url: string
  /** `GATEWAY_MASTER_KEY` of this gateway. */
  readonly masterKey: string
  /** What the process wrote to standard error so far (while the test keeps reading it). */
  readonly stderr: () => string
  /** When the process exited, and how. */
  readonly exited: Promise<{
    readonly code: number | null
    readonly signal: NodeJS.Signals | null
    readonly at: number
  }>
  /** SIGTERM, SIGKILL after 5 s if still running; removes the providers file. */
  readonly stop: () => Promise<void>
}

/**
 * The real gateway as a process of its own (`mainEntry`: the build when current, else src/main.ts
 * under tsx), on a free loopback port, over `storage`, with `gatewayFile` as its providers file and
 * `env` on top of a minimal environment; resolves once `/health` answers 200. For what only a whole process shows: signals,
 * its standard streams, its memory.
 */
export const startGatewayProcess = async (options: {
  readonly storage: SharedStorage
  readonly env?: Readonly<Record<string, string>>
  readonly gatewayFile?: unknown
  /** Standard output: ignored (default), or a pipe the test may close. */
  readonly stdout?: "ignore" | "pipe"
  /** Listen on this port (a restarted instance behind a load balancer) instead of a free one. */
  readonly port?: number
}): Promise<GatewayProcess> => {
  const masterKey = "apx-master-process-test-0123456789abcdef"
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-process-"))
  const file = path.join(dir, "gateway.json")
  if (options.gatewayFile !== undefined) fs.writeFileSync(file, JSON.stringify(options.gatewayFile))
  const port = options.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, ...options.storage.env }))
    if (v !== undefined) env[k] = v
  const child = spawn(process.execPath, [...mainEntry()], {
    cwd: root,
    env: {
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1",
      NODE_ENV: "test",
      SECRET_KEY: TEST_SECRET_KEY,
      GATEWAY_MASTER_KEY: masterKey,
      ...(options.gatewayFile !== undefined ? { GATEWAY_CONFIG: file } : {}),
      BOOTSTRAP_ADMIN: "false",
      LOG_LEVEL: "WARNING",
      // A developer's own .env in the checkout must not change what a test starts.
      ENV_FILE: "",
      ...options.env,
    },
    stdio: ["ignore", options.stdout ?? "ignore", "pipe"],
  })
  let stderr = ""
  child.stderr!.on("data", (chunk) => (stderr += String(chunk)))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  )
  let gone = false
  void exited.then(() => (gone = true))
  const stop = async () => {
    if (!gone) {
      child.kill("SIGTERM")
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))])
      if (!gone) child.kill("SIGKILL")
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 40_000
  for (;;) {
    const status = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) break
    if (gone || Date.now() > deadline) {
      await stop()
      throw new Error(
        `the gateway process did not start${gone ? " (it exited)" : " within 40 s"}\n${stderr.slice(-2000)}`,
      )
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return { child, url, masterKey, stderr: () => stderr, exited, stop }
}

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs the real entry point (`mainEntry` with `args`: a command such as `check-config`, or the
 * server, for start-ups expected to fail) in a minimal environment plus `env`, until it exits.
 */
export const runMain = (
  env: Readonly<Record<string, string | undefined>>,
  options: { readonly args?: ReadonlyArray<string>; readonly timeoutMs?: number } = {},
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...mainEntry(), ...(options.args ?? [])], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: "127.0.0.1",
        PORT: "0",
        LOG_LEVEL: "WARNING",
        ENV_FILE: "",
        ...env,
      } as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timeoutMs = options.timeoutMs ?? 30_000
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`main did not exit within ${timeoutMs} ms:\n${stderr}`))
    }, timeoutMs)
    child.on("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

/** The resident set size of process `pid` in bytes (`VmRSS` of /proc/<pid>/status). */
export const residentBytes = (pid: number): number => {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  if (match === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) * 1024
}
