/**
 * Start time and idle footprint of the built gateway on embedded defaults (`npm run bench:startup`;
 * build first with `npm run build`, this script builds nothing).
 *
 * Per round: `node dist/gateway/main.js` on a fresh temporary DATA_DIR (no DATABASE_URL, no REDIS_URL,
 * no SECRET_KEY: a first start as a new operator makes it), timed from spawn to the first
 * `/health` 200 (cold); idle RSS of the gateway and of its process tree (the embedded database's
 * process) STARTUP_IDLE_MS after `/health` and again STARTUP_SETTLED_MS after it, once V8's memory
 * reducer has run (it collects and shrinks the heaps of a process whose allocation rate dropped,
 * some 20–50 s into idleness: `--trace-gc` shows its `Mark-Compact (reduce)` 40–49 s after the
 * start on a slower machine, so the default leaves 25 s beyond that); SIGTERM; then the same
 * DATA_DIR started again (restart) and timed the same way. STARTUP_ROUNDS rounds (default 3); medians printed. "Together" counts each
 * physical page once (`residentTogetherMb`: the node binary's pages are mapped by both processes),
 * where the sum of the two VmRSS counts them twice; it needs root (page frame numbers).
 *
 *   STARTUP_ROUNDS=3  STARTUP_IDLE_MS=5000  STARTUP_SETTLED_MS=75000  STARTUP_ENTRY=dist/gateway/main.js  STARTUP_NODE_ARGS="--cpu-prof"
 *
 * Loopback only. Every process it starts is stopped before it exits.
 */
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { cpuUs, freePort, ROOT, residentTogetherMb, rssMb, sleep, stopChild, waitHealthy } from "./Processes.js"

const ROUNDS = Number(process.env.STARTUP_ROUNDS ?? 3)
const IDLE_MS = Number(process.env.STARTUP_IDLE_MS ?? 5_000)
const SETTLED_MS = Number(process.env.STARTUP_SETTLED_MS ?? 75_000)
const ENTRY = path.resolve(ROOT, process.env.STARTUP_ENTRY ?? "dist/gateway/main.js")
const NODE_ARGS = (process.env.STARTUP_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")
const START_TIMEOUT_MS = 120_000

const running = new Set<ChildProcess>()

/** VmRSS in MB of one process, 0 when it is gone. */
const rssOf = (pid: number): number => {
  try {
    return rssMb(pid).rss
  } catch {
    return 0
  }
}

/** CPU µs of one process, 0 when it is gone. */
const cpuOf = (pid: number): number => {
  try {
    return cpuUs(pid)
  } catch {
    return 0
  }
}

/** The pids of a process's descendants, from /proc/<pid>/task/<tid>/children. */
const descendants = (pid: number): ReadonlyArray<number> => {
  const direct: Array<number> = []
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim()
      if (text !== "") direct.push(...text.split(/\s+/).map(Number))
    }
  } catch {
    return []
  }
  return direct.flatMap((child) => [child, ...descendants(child)])
}

/** Resident memory of the gateway and its process tree at one moment, in MB. */
interface Footprint {
  readonly gatewayMb: number
  readonly childrenMb: number
  /** Each physical page once; NaN where the kernel hides page frame numbers (not root). */
  readonly togetherMb: number
}

interface Start {
  readonly ms: number
  /** CPU time (user + system) of the gateway and its children until /health answered. */
  readonly cpuMs: number
  /** STARTUP_IDLE_MS after /health. */
  readonly idle: Footprint
  /** STARTUP_SETTLED_MS after /health. */
  readonly settled: Footprint
}

const footprint = (pid: number): Footprint => {
  const children = descendants(pid)
  let togetherMb = Number.NaN
  try {
    togetherMb = residentTogetherMb([pid, ...children]) ?? Number.NaN
  } catch {
    // a process ended while its pages were read
  }
  return {
    gatewayMb: rssOf(pid),
    childrenMb: children.reduce((sum, child) => sum + rssOf(child), 0),
    togetherMb,
  }
}

/** One start on `dataDir`: time to healthy, resident memory after IDLE_MS and SETTLED_MS, then SIGTERM. */
const startOnce = async (dataDir: string, log: string): Promise<Start> => {
  const port = await freePort()
  const env: Record<string, string | undefined> = {
    ...process.env,
    NODE_ENV: "production",
    PORT: String(port),
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    LOG_LEVEL: "INFO",
  }
  for (const name of ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "GATEWAY_CONFIG", "OTEL_EXPORTER_OTLP_ENDPOINT"])
    delete env[name]
  const out = fs.openSync(log, "a")
  const startedAt = performance.now()
  const proc = spawn(process.execPath, [...NODE_ARGS, ENTRY], { cwd: dataDir, env, stdio: ["ignore", out, out] })
  running.add(proc)
  try {
    await waitHealthy(`http://127.0.0.1:${port}`, proc, START_TIMEOUT_MS, 20)
    const ms = performance.now() - startedAt
    const pid = proc.pid!
    const cpuMs = [pid, ...descendants(pid)].reduce((sum, p) => sum + cpuOf(p), 0) / 1000
    await sleep(IDLE_MS)
    const idle = footprint(pid)
    await sleep(Math.max(0, SETTLED_MS - IDLE_MS))
    const settled = footprint(pid)
    return { ms, cpuMs, idle, settled }
  } finally {
    await stopChild(proc)
    running.delete(proc)
    fs.closeSync(out)
  }
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const main = async () => {
  if (!fs.existsSync(ENTRY)) throw new Error(`${path.relative(ROOT, ENTRY)} is missing: run npm run build first`)
  const cold: Array<Start> = []
  const restart: Array<Start> = []
  for (let round = 1; round <= ROUNDS; round++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-startup-"))
    const log = path.join(os.tmpdir(), `apiproxy-startup-${process.pid}-${round}.log`)
    try {
      const first = await startOnce(dataDir, log)
      const second = await startOnce(dataDir, log)
      cold.push(first)
      restart.push(second)
      const mb = (f: Footprint) =>
        `${f.gatewayMb.toFixed(1)} + ${f.childrenMb.toFixed(1)} = ${(f.gatewayMb + f.childrenMb).toFixed(1)} MB (together ${f.togetherMb.toFixed(1)})`
      const fmt = (s: Start) =>
        `${(s.ms / 1000).toFixed(2)} s (CPU ${(s.cpuMs / 1000).toFixed(2)} s), RSS ${mb(s.idle)}, settled ${mb(s.settled)}`
      console.log(`round ${round}: cold ${fmt(first)}; restart ${fmt(second)}`)
      fs.rmSync(log, { force: true })
    } catch (error) {
      console.error(`round ${round} failed (log kept: ${log})`)
      throw error
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }
  const row = (name: string, starts: ReadonlyArray<Start>, at: (s: Start) => Footprint) => {
    const ms = median(starts.map((s) => s.ms))
    const cpuMs = median(starts.map((s) => s.cpuMs))
    const mb = (value: (f: Footprint) => number) => `${median(starts.map((s) => value(at(s)))).toFixed(1)} MB`
    return `| ${name} | ${(ms / 1000).toFixed(2)} s | ${(cpuMs / 1000).toFixed(2)} s | ${mb((f) => f.gatewayMb)} | ${mb((f) => f.childrenMb)} | ${mb((f) => f.gatewayMb + f.childrenMb)} | ${mb((f) => f.togetherMb)} |`
  }
  console.log(`\nmedians of ${ROUNDS} rounds\n`)
  console.log(
    "| start | to /health 200 | CPU until then (all processes) | gateway RSS | embedded database RSS | sum of RSS | together (pages once) |",
  )
  console.log("|---|---|---|---|---|---|---|")
  for (const [name, starts] of [
    ["cold (fresh DATA_DIR)", cold],
    ["restart (same DATA_DIR)", restart],
  ] as const) {
    console.log(row(`${name}, ${IDLE_MS / 1000} s idle`, starts, (s) => s.idle))
    console.log(row(`${name}, ${SETTLED_MS / 1000} s idle`, starts, (s) => s.settled))
  }
}

const stopAll = async () => {
  for (const proc of running) await stopChild(proc)
}
process.once("SIGINT", () => void stopAll().then(() => process.exit(130)))

main()
  .catch(async (error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
  .finally(stopAll)
