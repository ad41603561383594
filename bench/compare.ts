/**
 * CPU per request of two or more gateway builds under the same load, alternated run by run: the
 * way to tell whether a change made the data plane cheaper on a machine whose speed keeps moving.
 *
 *   npx tsx bench/compare.ts <dist/gateway/main.js> [<other/dist/gateway/main.js> …]
 *
 *   COMPARE_LOADS=json,stream,translated,translated-stream   which requests (default json,stream)
 *   COMPARE_SECONDS=6      seconds per run          COMPARE_REPEATS=3   runs per build and load
 *   COMPARE_CONNECTIONS=64                           COMPARE_PROFILE=1   node --cpu-prof per build
 *   COMPARE_KEEP=1         keep the gateways' logs (and data) in the temp folder, printed at the end
 *   COMPARE_BASELINE=1     also the minimal proxy (bench/baseline-proxy.ts), for the passthrough loads
 *
 * Every build gets the bench's upstream (bench/upstream.ts) and configuration (an OpenAI provider
 * `bench` for the passthrough, an Anthropic provider `bench-anthropic` for the translated path),
 * embedded storage in its own temp DATA_DIR, auth on with the master key. CPU is the gateway
 * process's own user + system time from /proc over a run, divided by the requests it served.
 * All traffic stays on 127.0.0.1; every run is bounded in time.
 */

import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import autocannon from "autocannon"
import { Pool } from "undici"
import { gatewayEnv, writeGatewayConfig } from "./GatewaySetup.js"
import { cpuUs, freePort, startTsServer, waitHealthy } from "./Processes.js"

const builds = process.argv.slice(2).map((p) => path.resolve(p))
if (builds.length === 0) {
  process.stderr.write("usage: tsx bench/compare.ts <dist/gateway/main.js> [<dist/gateway/main.js> …]\n")
  process.exit(1)
}
const LOADS = (process.env.COMPARE_LOADS ?? "json,stream").split(",").map((s) => s.trim())
const SECONDS = Number(process.env.COMPARE_SECONDS ?? "6")
const REPEATS = Number(process.env.COMPARE_REPEATS ?? "3")
const CONNECTIONS = Number(process.env.COMPARE_CONNECTIONS ?? "64")
const PROFILE = process.env.COMPARE_PROFILE === "1"
const BASELINE = process.env.COMPARE_BASELINE === "1"
const KEEP = PROFILE || process.env.COMPARE_KEEP === "1"
const DEADLINE_MS = 20 * 60_000

const children: Array<ChildProcess> = []
const killAll = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
}
process.on("exit", killAll)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-compare-"))
const log = (line: string) => process.stdout.write(`[compare] ${line}\n`)
const spawned = (proc: ChildProcess) => void children.push(proc)

const MASTER_KEY = `apx-compare-${randomBytes(16).toString("hex")}`
const HEADERS = { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` }
const body = (model: string, stream: boolean) =>
  JSON.stringify({ model, messages: [{ role: "user", content: "Say hello" }], ...(stream ? { stream: true } : {}) })
const REQUESTS: Record<string, string> = {
  json: body("gpt-4o-mini", false),
  stream: body("gpt-4o-mini", true),
  translated: body("claude-bench", false),
  "translated-stream": body("claude-bench", true),
}

interface Gateway {
  readonly name: string
  readonly url: string
  readonly proc: ChildProcess
}

const startGateway = async (main: string, index: number, upstream: string): Promise<Gateway> => {
  const dir = path.join(tmp, `gw${index}`)
  fs.mkdirSync(dir)
  const configFile = path.join(dir, "gateway.json")
  writeGatewayConfig(configFile, upstream)
  const port = await freePort()
  const env = gatewayEnv({ port, dataDir: path.join(dir, "data"), configFile, masterKey: MASTER_KEY })
  const logFd = fs.openSync(path.join(dir, "gateway.log"), "a")
  const args = PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${path.join(dir, "profile")}`] : []
  const proc = spawn(process.execPath, [...args, main], { cwd: dir, env, stdio: ["ignore", logFd, logFd] })
  children.push(proc)
  const url = `http://127.0.0.1:${port}`
  await waitHealthy(url, proc, 120_000)
  const pool = new Pool(url, { connections: 1 })
  for (const load of LOADS) {
    const res = await pool.request({
      path: "/v1/chat/completions",
      method: "POST",
      headers: HEADERS,
      body: REQUESTS[load]!,
    })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`${main} answered ${res.statusCode} for ${load}: ${text.slice(0, 200)}`)
  }
  await pool.close()
  return { name: path.relative(process.cwd(), main), url, proc }
}

const run = async (gw: Gateway, load: string, seconds: number) => {
  const cpu0 = cpuUs(gw.proc.pid!)
  const result = await autocannon({
    url: gw.url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
    requests: [{ method: "POST", path: "/v1/chat/completions", headers: HEADERS, body: REQUESTS[load]! }],
  })
  const cpu = cpuUs(gw.proc.pid!) - cpu0
  if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0)
    throw new Error(
      `${gw.name} ${load}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`,
    )
  return { rps: result.requests.average, cpu: cpu / Math.max(1, result.requests.total) }
}

const main = async () => {
  setTimeout(() => {
    process.stderr.write("[compare] deadline exceeded\n")
    process.exit(2)
  }, DEADLINE_MS).unref()
  const upstream = (await startTsServer("upstream", "upstream.ts", { BENCH_CHUNKS: "32" }, spawned)).url
  const gateways: Array<Gateway> = []
  for (const [i, b] of builds.entries()) gateways.push(await startGateway(b, i, upstream))
  const baselineProfile = path.join(tmp, "baseline-profile")
  const baseline = BASELINE
    ? await startTsServer(
        "baseline",
        "baseline-proxy.ts",
        { BENCH_UPSTREAM: upstream },
        spawned,
        PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${baselineProfile}`] : [],
      )
    : undefined
  const targets: Array<Gateway> = baseline ? [...gateways, baseline] : gateways
  /** The baseline forwards to the upstream as it is: only the passthrough loads mean the same there. */
  const serves = (gw: Gateway, load: string) => gw.name !== "baseline" || !load.startsWith("translated")
  log(
    `upstream ${upstream}; ${gateways.map((g) => `${g.name} (pid ${g.proc.pid})`).join(", ")}; loadavg ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  )
  // Warm-up: JIT and caches, not measured.
  for (const gw of targets) for (const load of LOADS) if (serves(gw, load)) await run(gw, load, 2)
  const cpu: Record<string, Record<string, Array<number>>> = {}
  for (let r = 0; r < REPEATS; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse()
    for (const load of LOADS)
      for (const gw of order.filter((t) => serves(t, load))) {
        const out = await run(gw, load, SECONDS)
        ;((cpu[load] ??= {})[gw.name] ??= []).push(out.cpu)
        log(`  ${load.padEnd(17)} ${gw.name}: ${out.rps.toFixed(0)} req/s, ${out.cpu.toFixed(0)} µs CPU per request`)
      }
  }
  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!
  log(
    `loadavg ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  )
  for (const load of LOADS)
    for (const gw of targets.filter((t) => serves(t, load))) {
      const xs = cpu[load]![gw.name]!
      log(
        `${load.padEnd(17)} ${gw.name}: median ${median(xs).toFixed(0)} µs (runs ${xs.map((x) => x.toFixed(0)).join(", ")})`,
      )
    }
  // Paired: each run of a build against the first build's run of the same repeat (the machine's
  // speed moves between repeats far more than between two runs of one repeat).
  for (const load of LOADS)
    for (const gw of targets.slice(1).filter((t) => serves(t, load))) {
      const base = cpu[load]![targets[0]!.name]!
      const ratios = cpu[load]![gw.name]!.map((x, i) => x / base[i]!)
      log(
        `${load.padEnd(17)} ${gw.name} / ${targets[0]!.name}: median ${median(ratios).toFixed(3)} (paired runs ${ratios.map((r) => r.toFixed(3)).join(", ")})`,
      )
    }
  for (const gw of targets) {
    gw.proc.kill("SIGTERM")
    await new Promise((r) => gw.proc.once("exit", r))
  }
  if (KEEP) log(`logs kept in ${tmp}`)
  if (PROFILE && BASELINE) log(`cpu profile of the baseline: ${baselineProfile}`)
  if (PROFILE)
    for (const [i] of gateways.entries()) {
      const dir = path.join(tmp, `gw${i}`, "profile")
      for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : [])
        log(`cpu profile of ${gateways[i]!.name}: ${path.join(dir, f)}`)
    }
  if (!KEEP) fs.rmSync(tmp, { recursive: true, force: true })
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(
      `[compare] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    process.stderr.write(`[compare] logs kept in ${tmp}\n`)
    process.exit(1)
  },
)
