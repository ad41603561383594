/**
 * `npm run bench`: the gateway against a zero-delay upstream and a minimal undici proxy, in one
 * process tree on 127.0.0.1. See bench/README.md for what is measured and how to read it.
 *
 *   BENCH_QUICK=1        fewer requests and shorter runs (a smoke test, not a measurement)
 *   BENCH_SKIP_BUILD=1   use the existing dist/ instead of running `npm run build`
 *   BENCH_PROFILE=1      start the gateway with `node --cpu-prof`; the profile's path is printed
 *   BENCH_ONLY=a,b       run only some phases: latency, stream, translated, throughput, memory
 *   BENCH_RESULTS=path   where to write the results (default bench/RESULTS.md)
 *   BENCH_NODE_ARGS="…"  extra node flags for the measured gateway (e.g. --trace-gc); keeps its log
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import autocannon from "autocannon"
import { Pool } from "undici"
import { gatewayEnv, writeGatewayConfig } from "./GatewaySetup.js"
import { cpuUs, freePort, ROOT, rssMb, sleep, startTsServer, stopChild, waitHealthy } from "./Processes.js"

const QUICK = process.env.BENCH_QUICK === "1"
const PROFILE = process.env.BENCH_PROFILE === "1"
const ONLY = new Set(
  (process.env.BENCH_ONLY ?? "latency,stream,translated,throughput,memory").split(",").map((s) => s.trim()),
)
const RESULTS = path.resolve(ROOT, process.env.BENCH_RESULTS ?? "bench/RESULTS.md")
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")

const P = {
  latencyWarmup: QUICK ? 200 : 2_000,
  latencyMeasured: QUICK ? 500 : 5_000,
  latencyBlocks: 5,
  streamWarmup: QUICK ? 50 : 200,
  streamMeasured: QUICK ? 200 : 1_000,
  translatedWarmup: QUICK ? 100 : 300,
  translatedMeasured: QUICK ? 300 : 1_000,
  translatedStreamWarmup: QUICK ? 20 : 50,
  translatedStreamMeasured: QUICK ? 100 : 300,
  throughputSeconds: QUICK ? 3 : 6,
  throughputRepeats: QUICK ? 1 : 3,
  connections: 64,
  memoryRequests: QUICK ? 20_000 : 100_000,
  memorySamples: 4,
  /** Each quarter of the memory phase stops after this long even if not all its requests were served. */
  memoryStepCapSeconds: QUICK ? 10 : 25,
  chunks: 32,
}

/** Hard stop: the whole run must stay bounded even if a server hangs. */
const DEADLINE_MS = 9 * 60_000

// ---------------------------------------------------------------------------------------------
// Child processes

const children: Array<ChildProcess> = []
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-bench-"))

const killAll = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
}
process.on("exit", killAll)
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })

const log = (line: string) => process.stdout.write(`[bench] ${line}\n`)

// ---------------------------------------------------------------------------------------------
// Measurements

const MASTER_KEY = `apx-bench-${randomBytes(16).toString("hex")}`
const HEADERS = { "content-type": "application/json", authorization: `Bearer ${MASTER_KEY}` }
const PATH = "/v1/chat/completions"
const JSON_BODY = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello" }] })
const STREAM_BODY = JSON.stringify({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello" }],
  stream: true,
})

const percentile = (sorted: ReadonlyArray<number>, q: number): number => {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]!
}
const sortNum = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)
const median = (xs: ReadonlyArray<number>) => percentile(sortNum(xs), 0.5)

interface Target {
  readonly name: "direct" | "gateway" | "baseline"
  readonly url: string
}

const expectOk = (target: Target, status: number, body?: string) => {
  if (status !== 200) throw new Error(`${target.name} answered ${status}${body ? `: ${body.slice(0, 300)}` : ""}`)
}

/** One JSON request, timed from send to the last body byte. */
const timedJson = async (pool: Pool, target: Target): Promise<number> => {
  const t0 = performance.now()
  const res = await pool.request({ path: PATH, method: "POST", headers: HEADERS, body: JSON_BODY })
  const text = await res.body.text()
  const t1 = performance.now()
  expectOk(target, res.statusCode, text)
  return t1 - t0
}

/** A streamed request's shape: where it goes and how its content tokens look on the wire. */
interface StreamRequest {
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: string
  /** The field that carries a content delta: `"content":"` (OpenAI) or `"text":"` (Anthropic). */
  readonly field: string
}

const OPENAI_STREAM: StreamRequest = { path: PATH, headers: HEADERS, body: STREAM_BODY, field: '"content":"' }

/** One streamed request: time to the first content token (`tok0`) and to the end of the body. */
const timedStreamOf = async (
  pool: Pool,
  target: Target,
  r: StreamRequest,
): Promise<{ first: number; last: number }> => {
  const firstMark = `${r.field}tok0 `
  const tokenMark = `${r.field}tok`
  const t0 = performance.now()
  const res = await pool.request({ path: r.path, method: "POST", headers: r.headers, body: r.body })
  let first = NaN
  let seen = ""
  let tokens = 0
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    const text = chunk.toString("utf8")
    if (Number.isNaN(first)) {
      seen += text
      if (seen.includes(firstMark)) first = performance.now() - t0
    }
    tokens += text.split(tokenMark).length - 1
  }
  const last = performance.now() - t0
  expectOk(target, res.statusCode, Number.isNaN(first) ? seen : undefined)
  if (tokens !== P.chunks) throw new Error(`${target.name} streamed ${tokens} tokens, expected ${P.chunks}`)
  return { first, last }
}

const timedStream = (pool: Pool, target: Target) => timedStreamOf(pool, target, OPENAI_STREAM)

interface LatencyResult {
  readonly samples: Record<string, Array<number>>
  /** Per block: added p50/p99 (gateway − direct, baseline − direct). */
  readonly blocks: Array<{ gw50: number; gw99: number; base50: number; base99: number }>
}

/** Requests one at a time, interleaved (rotating order) so noise hits every target alike. */
const sequential = async <A>(
  targets: ReadonlyArray<Target>,
  warmup: number,
  measured: number,
  one: (pool: Pool, target: Target) => Promise<A>,
): Promise<Record<string, Array<A>>> => {
  const pools = new Map(targets.map((t) => [t.name, new Pool(t.url, { connections: 1, keepAliveTimeout: 60_000 })]))
  const out: Record<string, Array<A>> = Object.fromEntries(targets.map((t) => [t.name, [] as Array<A>]))
  try {
    for (let i = 0; i < warmup + measured; i++) {
      for (let j = 0; j < targets.length; j++) {
        const target = targets[(i + j) % targets.length]!
        const value = await one(pools.get(target.name)!, target)
        if (i >= warmup) out[target.name]!.push(value)
      }
    }
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()))
  }
  return out
}

const latencyPhase = async (targets: ReadonlyArray<Target>): Promise<LatencyResult> => {
  log(`sequential latency: ${P.latencyWarmup} warm-up + ${P.latencyMeasured} measured per target, interleaved`)
  const samples = await sequential(targets, P.latencyWarmup, P.latencyMeasured, timedJson)
  const blocks: LatencyResult["blocks"] = []
  const size = Math.floor(P.latencyMeasured / P.latencyBlocks)
  for (let b = 0; b < P.latencyBlocks; b++) {
    const block = (name: string) => sortNum(samples[name]!.slice(b * size, (b + 1) * size))
    const d = block("direct")
    const g = block("gateway")
    const base = block("baseline")
    blocks.push({
      gw50: percentile(g, 0.5) - percentile(d, 0.5),
      gw99: percentile(g, 0.99) - percentile(d, 0.99),
      base50: percentile(base, 0.5) - percentile(d, 0.5),
      base99: percentile(base, 0.99) - percentile(d, 0.99),
    })
  }
  return { samples, blocks }
}

const streamPhase = async (targets: ReadonlyArray<Target>) => {
  log(
    `streaming: ${P.streamWarmup} warm-up + ${P.streamMeasured} measured ${P.chunks}-chunk answers per target, interleaved`,
  )
  return sequential(targets, P.streamWarmup, P.streamMeasured, timedStream)
}

// Translated path: an OpenAI client through the gateway to an Anthropic upstream, against the
// same upstream called directly in its own (Anthropic) dialect.

const ANTHROPIC_PATH = "/v1/messages"
const ANTHROPIC_HEADERS = {
  "content-type": "application/json",
  "x-api-key": "sk-ant-bench-upstream-0000000000",
  "anthropic-version": "2023-06-01",
}
const ANTHROPIC_JSON_BODY = JSON.stringify({
  model: "claude-bench",
  max_tokens: 1024,
  messages: [{ role: "user", content: "Say hello" }],
})
const ANTHROPIC_STREAM_BODY = JSON.stringify({
  model: "claude-bench",
  max_tokens: 1024,
  messages: [{ role: "user", content: "Say hello" }],
  stream: true,
})
const TRANSLATED_JSON_BODY = JSON.stringify({
  model: "claude-bench",
  messages: [{ role: "user", content: "Say hello" }],
})
const TRANSLATED_STREAM_BODY = JSON.stringify({
  model: "claude-bench",
  messages: [{ role: "user", content: "Say hello" }],
  stream: true,
})
const ANTHROPIC_STREAM: StreamRequest = {
  path: ANTHROPIC_PATH,
  headers: ANTHROPIC_HEADERS,
  body: ANTHROPIC_STREAM_BODY,
  field: '"text":"',
}
const TRANSLATED_STREAM: StreamRequest = {
  path: PATH,
  headers: HEADERS,
  body: TRANSLATED_STREAM_BODY,
  field: '"content":"',
}

/** Direct: Anthropic body to the upstream's /v1/messages; gateway: OpenAI body for the Anthropic model. */
const timedTranslatedJson = async (pool: Pool, target: Target): Promise<number> => {
  const direct = target.name === "direct"
  const t0 = performance.now()
  const res = await pool.request(
    direct
      ? { path: ANTHROPIC_PATH, method: "POST", headers: ANTHROPIC_HEADERS, body: ANTHROPIC_JSON_BODY }
      : { path: PATH, method: "POST", headers: HEADERS, body: TRANSLATED_JSON_BODY },
  )
  const text = await res.body.text()
  const t1 = performance.now()
  expectOk(target, res.statusCode, text)
  return t1 - t0
}

const timedTranslatedStream = (pool: Pool, target: Target) =>
  timedStreamOf(pool, target, target.name === "direct" ? ANTHROPIC_STREAM : TRANSLATED_STREAM)

interface TranslatedResult {
  readonly json: Record<string, Array<number>>
  readonly stream: Record<string, Array<{ first: number; last: number }>>
}

const translatedPhase = async (direct: Target, gateway: Target): Promise<TranslatedResult> => {
  const targets = [direct, gateway]
  log(
    `translated (OpenAI client → Anthropic upstream): ${P.translatedWarmup} warm-up + ${P.translatedMeasured} JSON, ` +
      `${P.translatedStreamWarmup} warm-up + ${P.translatedStreamMeasured} ${P.chunks}-chunk streams per target, interleaved`,
  )
  const json = await sequential(targets, P.translatedWarmup, P.translatedMeasured, timedTranslatedJson)
  const stream = await sequential(targets, P.translatedStreamWarmup, P.translatedStreamMeasured, timedTranslatedStream)
  return { json, stream }
}

const cannon = async (
  target: Target,
  options: { duration?: number; amount?: number; mixed?: boolean; capSeconds?: number },
) => {
  const run = autocannon({
    url: target.url,
    connections: P.connections,
    ...(options.duration !== undefined ? { duration: options.duration } : {}),
    ...(options.amount !== undefined ? { amount: options.amount } : {}),
    timeout: 30,
    requests: options.mixed
      ? [
          { method: "POST", path: PATH, headers: HEADERS, body: JSON_BODY },
          { method: "POST", path: PATH, headers: HEADERS, body: STREAM_BODY },
        ]
      : [{ method: "POST", path: PATH, headers: HEADERS, body: JSON_BODY }],
  })
  const cap = options.capSeconds !== undefined ? setTimeout(() => run.stop(), options.capSeconds * 1000) : undefined
  const result = await run
  if (cap) clearTimeout(cap)
  if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0)
    throw new Error(
      `${target.name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx under load`,
    )
  return result
}

interface ThroughputRun {
  readonly rps: number
  readonly p99: number
  /** CPU time the proxy process spent per request, µs. */
  readonly cpuPerRequest: number
}

interface ThroughputResult {
  readonly direct: ThroughputRun
  readonly gateway: Array<ThroughputRun>
  readonly baseline: Array<ThroughputRun>
}

const throughputPhase = async (
  direct: Target,
  gateway: Target,
  baseline: Target,
  pids: Record<Target["name"], number>,
): Promise<ThroughputResult> => {
  log(
    `throughput: ${P.connections} connections, ${P.throughputSeconds} s per run, gateway/baseline alternated ×${P.throughputRepeats}`,
  )
  const run = async (target: Target): Promise<ThroughputRun> => {
    const cpu0 = cpuUs(pids[target.name])
    const result = await cannon(target, { duration: P.throughputSeconds })
    const cpu = cpuUs(pids[target.name]) - cpu0
    const out = {
      rps: result.requests.average,
      p99: result.latency.p99,
      cpuPerRequest: cpu / Math.max(1, result.requests.total),
    }
    log(
      `  ${target.name}: ${out.rps.toFixed(0)} req/s (p99 ${out.p99} ms, ${out.cpuPerRequest.toFixed(0)} µs CPU per request)`,
    )
    return out
  }
  const out: ThroughputResult = { direct: await run(direct), gateway: [], baseline: [] }
  for (let r = 0; r < P.throughputRepeats; r++) {
    const order = r % 2 === 0 ? [gateway, baseline] : [baseline, gateway]
    for (const target of order) out[target.name === "gateway" ? "gateway" : "baseline"].push(await run(target))
  }
  return out
}

interface MemorySample {
  readonly after: number
  readonly rss: number
  readonly hwm: number
}

const memoryPhase = async (gateway: Target, pid: number): Promise<Array<MemorySample>> => {
  const samples: Array<MemorySample> = [{ after: 0, ...rssMb(pid) }]
  const step = Math.floor(P.memoryRequests / P.memorySamples)
  log(
    `memory: ${P.memoryRequests} more requests (half JSON, half ${P.chunks}-chunk SSE) in ${P.memorySamples} steps, ` +
      `each capped at ${P.memoryStepCapSeconds} s`,
  )
  let served = 0
  for (let i = 1; i <= P.memorySamples; i++) {
    const result = await cannon(gateway, { amount: step, mixed: true, capSeconds: P.memoryStepCapSeconds })
    served += result.requests.total
    await sleep(1_000)
    samples.push({ after: served, ...rssMb(pid) })
    log(`  after ${served}: RSS ${samples[samples.length - 1]!.rss.toFixed(1)} MB`)
  }
  return samples
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")
const verdict = (ok: boolean) => (ok ? "**PASS**" : "**FAIL**")

const BEGIN = "<!-- bench:begin (generated by `npm run bench`; edit outside these markers) -->"
const END = "<!-- bench:end -->"

const writeResults = (generated: string) => {
  const block = `${BEGIN}\n${generated.trimEnd()}\n${END}`
  let text = fs.existsSync(RESULTS) ? fs.readFileSync(RESULTS, "utf8") : ""
  const a = text.indexOf(BEGIN)
  const b = text.indexOf(END)
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + END.length)
  else text = `# Benchmark results\n\n${block}\n${text ? `\n${text}` : ""}`
  fs.writeFileSync(RESULTS, text.endsWith("\n") ? text : `${text}\n`)
}

const gitRevision = () => {
  const r = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" })
  if (r.status !== 0) return "unknown"
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "src"], { cwd: ROOT, encoding: "utf8" })
  const changed = dirty.status === 0 ? dirty.stdout.split("\n").filter((l) => l.trim() !== "").length : 0
  return changed > 0 ? `${r.stdout.trim()} (+${changed} uncommitted file(s) under src/)` : r.stdout.trim()
}

// ---------------------------------------------------------------------------------------------

const main = async () => {
  const started = Date.now()
  const deadline = setTimeout(() => {
    process.stderr.write("[bench] deadline exceeded, stopping\n")
    killAll()
    process.exit(2)
  }, DEADLINE_MS)
  deadline.unref()

  if (process.env.BENCH_SKIP_BUILD !== "1") {
    log("npm run build")
    const build = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" })
    if (build.status !== 0) throw new Error("npm run build failed")
  }
  const main = path.join(ROOT, "dist", "gateway", "main.js")
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run npm run build`)

  const spawned = (proc: ChildProcess) => void children.push(proc)
  const upstream = await startTsServer("upstream", "upstream.ts", { BENCH_CHUNKS: String(P.chunks) }, spawned)
  const baseline = await startTsServer("baseline", "baseline-proxy.ts", { BENCH_UPSTREAM: upstream.url }, spawned)

  const port = await freePort()
  const configFile = path.join(tmp, "gateway.json")
  writeGatewayConfig(configFile, upstream.url)
  const gatewayLog = path.join(tmp, "gateway.log")
  const logFd = fs.openSync(gatewayLog, "a")
  const profileDir = path.join(tmp, "profile")
  // Embedded storage only: never the database or Redis of whoever runs the bench.
  const env = gatewayEnv({ port, dataDir: path.join(tmp, "data"), configFile, masterKey: MASTER_KEY })
  const gateway: Target = { name: "gateway", url: `http://127.0.0.1:${port}` }
  const direct: Target = { name: "direct", url: upstream.url }
  const base: Target = { name: "baseline", url: baseline.url }

  // First start on an empty DATA_DIR (embedded Postgres initdb + migrations + providers file),
  // measured for memory only; then the measured gateway starts on the initialised DATA_DIR, as
  // every later start of a deployment does.
  const startGateway = (nodeArgs: ReadonlyArray<string>) => {
    const proc = spawn(process.execPath, [...nodeArgs, main], { cwd: tmp, env, stdio: ["ignore", logFd, logFd] })
    children.push(proc)
    return proc
  }
  const firstStart = startGateway([])
  await waitHealthy(gateway.url, firstStart, 120_000)
  await sleep(1_000)
  const firstStartRss = rssMb(firstStart.pid!)
  await stopChild(firstStart)
  log(
    `first start (initdb) done after ${((Date.now() - started) / 1000).toFixed(1)} s, idle RSS ${firstStartRss.rss.toFixed(0)} MB`,
  )

  const gwProc = startGateway([...NODE_ARGS, ...(PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])])
  let stopping = false
  gwProc.once("exit", (code, signal) => {
    if (!stopping)
      process.stderr.write(
        `[bench] the gateway exited during the run (code ${code}, signal ${signal}); see ${gatewayLog}\n`,
      )
  })
  log(
    `upstream ${upstream.url}, baseline ${baseline.url}, gateway ${gateway.url} (pid ${gwProc.pid}, log ${gatewayLog})`,
  )
  await waitHealthy(gateway.url, gwProc, 120_000)
  await sleep(1_000)
  const idleRss = rssMb(gwProc.pid!)
  log(`gateway healthy after ${((Date.now() - started) / 1000).toFixed(1)} s`)

  // Sanity: every target answers the same request, and the gateway really went through the upstream.
  {
    const pool = new Pool(gateway.url, { connections: 1 })
    const res = await pool.request({ path: PATH, method: "POST", headers: HEADERS, body: JSON_BODY })
    const text = await res.body.text()
    expectOk(gateway, res.statusCode, text)
    if (res.headers["x-apiproxy-provider"] !== "bench") throw new Error("gateway did not report the bench provider")
    // Translated path: OpenAI chat body for the Anthropic provider's model, answered as a chat.completion.
    const tr = await pool.request({ path: PATH, method: "POST", headers: HEADERS, body: TRANSLATED_JSON_BODY })
    const trText = await tr.body.text()
    expectOk(gateway, tr.statusCode, trText)
    if (tr.headers["x-apiproxy-provider"] !== "bench-anthropic")
      throw new Error(
        `translated path served by ${String(tr.headers["x-apiproxy-provider"])}, expected bench-anthropic`,
      )
    const trBody = JSON.parse(trText) as { object?: unknown; choices?: Array<{ message?: { content?: unknown } }> }
    const expected = Array.from({ length: P.chunks }, (_, i) => `tok${i} `).join("")
    if (trBody.object !== "chat.completion" || trBody.choices?.[0]?.message?.content !== expected)
      throw new Error(
        `translated path did not answer a chat.completion with the upstream's text: ${trText.slice(0, 300)}`,
      )
    await pool.close()
    // The upstream's Anthropic endpoint, called directly.
    const up = new Pool(direct.url, { connections: 1 })
    const an = await up.request({
      path: ANTHROPIC_PATH,
      method: "POST",
      headers: ANTHROPIC_HEADERS,
      body: ANTHROPIC_JSON_BODY,
    })
    const anText = await an.body.text()
    expectOk(direct, an.statusCode, anText)
    if ((JSON.parse(anText) as { type?: unknown }).type !== "message")
      throw new Error(`upstream /v1/messages: ${anText.slice(0, 300)}`)
    await up.close()
  }

  const targets: ReadonlyArray<Target> = [direct, gateway, base]
  const latency = ONLY.has("latency") ? await latencyPhase(targets) : undefined
  const stream = ONLY.has("stream") ? await streamPhase(targets) : undefined
  const translated = ONLY.has("translated") ? await translatedPhase(direct, gateway) : undefined
  const pids = { direct: upstream.proc.pid!, gateway: gwProc.pid!, baseline: baseline.proc.pid! }
  const throughput = ONLY.has("throughput") ? await throughputPhase(direct, gateway, base, pids) : undefined
  const memory = ONLY.has("memory") ? await memoryPhase(gateway, gwProc.pid!) : undefined
  const logLines = fs
    .readFileSync(gatewayLog, "utf8")
    .split("\n")
    .filter((l) => l.includes("msg=request")).length

  stopping = true
  await stopChild(gwProc)
  fs.closeSync(logFd)
  await Promise.all([stopChild(baseline.proc), stopChild(upstream.proc)])

  // ---- report
  const rows: Array<string> = []
  /** Passthrough (OpenAI → OpenAI) added numbers of this run, for the translated path's comparison. */
  let passJson: { p50: number; p99: number } | undefined
  let passStream: { first: number; last: number } | undefined
  const checks: Array<{ what: string; target: string; value: string; ok: boolean }> = []
  const cpu = os.cpus()
  const lines: Array<string> = [
    `Run of ${new Date().toISOString()} — ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `${os.type()} ${os.release()}, Node ${process.version}, commit ${gitRevision()}${QUICK ? " — **QUICK mode: not a measurement**" : ""}.`,
    "",
    "All servers are separate processes on 127.0.0.1; the load generator runs in the bench process. The gateway runs",
    "`NODE_ENV=production node dist/gateway/main.js` with `LOG_LEVEL=INFO` (access log to a file), auth on (master key),",
    "embedded storage. Numbers are noisy on a small shared machine: comparisons are interleaved request by request",
    "(latency, streaming) or alternated and repeated (throughput), and medians are reported.",
    "",
  ]

  if (latency) {
    const s = (name: string) => sortNum(latency.samples[name]!)
    const d = s("direct")
    const g = s("gateway")
    const b = s("baseline")
    const med = (k: keyof LatencyResult["blocks"][number]) => median(latency.blocks.map((x) => x[k]))
    const added50 = med("gw50")
    const added99 = med("gw99")
    passJson = { p50: added50, p99: added99 }
    rows.push(
      `### Sequential latency (JSON, ${P.latencyMeasured} requests per target, one at a time, interleaved)`,
      "",
      "| target | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms |",
      "|---|---:|---:|---:|---:|---:|",
      `| direct (upstream) | ${fmt(percentile(d, 0.5), 3)} | ${fmt(percentile(d, 0.9), 3)} | ${fmt(percentile(d, 0.99), 3)} | — | — |`,
      `| baseline proxy | ${fmt(percentile(b, 0.5), 3)} | ${fmt(percentile(b, 0.9), 3)} | ${fmt(percentile(b, 0.99), 3)} | ${fmt(med("base50"), 3)} | ${fmt(med("base99"), 3)} |`,
      `| gateway | ${fmt(percentile(g, 0.5), 3)} | ${fmt(percentile(g, 0.9), 3)} | ${fmt(percentile(g, 0.99), 3)} | ${fmt(added50, 3)} | ${fmt(added99, 3)} |`,
      "",
      `"Added" = percentile(target) − percentile(direct) within each of ${P.latencyBlocks} blocks of ${P.latencyMeasured / P.latencyBlocks} interleaved requests; median over the blocks.`,
      "",
    )
    checks.push({
      what: "added latency p50 (sequential)",
      target: "≤ 1 ms",
      value: `${fmt(added50, 3)} ms`,
      ok: added50 <= 1,
    })
    checks.push({
      what: "added latency p99 (sequential)",
      target: "≤ 3 ms",
      value: `${fmt(added99, 3)} ms`,
      ok: added99 <= 3,
    })
  }

  if (stream) {
    const col = (name: string, k: "first" | "last") => sortNum(stream[name]!.map((x) => x[k]))
    const stat = (name: string) => ({
      f50: percentile(col(name, "first"), 0.5),
      f99: percentile(col(name, "first"), 0.99),
      l50: percentile(col(name, "last"), 0.5),
      l99: percentile(col(name, "last"), 0.99),
    })
    const d = stat("direct")
    const g = stat("gateway")
    const b = stat("baseline")
    passStream = { first: g.f50 - d.f50, last: g.l50 - d.l50 }
    rows.push(
      `### Streaming (${P.chunks}-chunk SSE answer, ${P.streamMeasured} requests per target, one at a time, interleaved)`,
      "",
      "| target | first token p50 ms | first token p99 ms | last token p50 ms | last token p99 ms | added first p50 ms | added last p50 ms |",
      "|---|---:|---:|---:|---:|---:|---:|",
      `| direct (upstream) | ${fmt(d.f50, 3)} | ${fmt(d.f99, 3)} | ${fmt(d.l50, 3)} | ${fmt(d.l99, 3)} | — | — |`,
      `| baseline proxy | ${fmt(b.f50, 3)} | ${fmt(b.f99, 3)} | ${fmt(b.l50, 3)} | ${fmt(b.l99, 3)} | ${fmt(b.f50 - d.f50, 3)} | ${fmt(b.l50 - d.l50, 3)} |`,
      `| gateway | ${fmt(g.f50, 3)} | ${fmt(g.f99, 3)} | ${fmt(g.l50, 3)} | ${fmt(g.l99, 3)} | ${fmt(g.f50 - d.f50, 3)} | ${fmt(g.l50 - d.l50, 3)} |`,
      "",
      "First token = the first body bytes containing the first content delta; last token = end of the body. The upstream",
      "writes each SSE frame on its own event-loop turn, with no delay.",
      "",
    )
    checks.push({
      what: "added time to first token (p50)",
      target: "≤ 2 ms",
      value: `${fmt(g.f50 - d.f50, 3)} ms`,
      ok: g.f50 - d.f50 <= 2,
    })
  }

  if (translated) {
    const j = (name: string) => sortNum(translated.json[name]!)
    const dj = j("direct")
    const gj = j("gateway")
    const col = (name: string, k: "first" | "last") => sortNum(translated.stream[name]!.map((x) => x[k]))
    const ds = { f50: percentile(col("direct", "first"), 0.5), l50: percentile(col("direct", "last"), 0.5) }
    const gs = { f50: percentile(col("gateway", "first"), 0.5), l50: percentile(col("gateway", "last"), 0.5) }
    const add50 = percentile(gj, 0.5) - percentile(dj, 0.5)
    const add99 = percentile(gj, 0.99) - percentile(dj, 0.99)
    const addFirst = gs.f50 - ds.f50
    const addLast = gs.l50 - ds.l50
    const diff = (a: number, b: number) => `${a - b >= 0 ? "+" : ""}${fmt(a - b, 3)}`
    const comparison =
      passJson || passStream
        ? "Against the OpenAI passthrough of the same run, translation adds " +
          [
            passJson
              ? `${fmt(add50, 3)} / ${fmt(add99, 3)} ms (p50 / p99) to a JSON request where the passthrough adds ` +
                `${fmt(passJson.p50, 3)} / ${fmt(passJson.p99, 3)} ms (${diff(add50, passJson.p50)} ms at p50)`
              : "",
            passStream
              ? `${fmt(addFirst, 3)} ms to the first and ${fmt(addLast, 3)} ms to the last token where the passthrough adds ` +
                `${fmt(passStream.first, 3)} and ${fmt(passStream.last, 3)} ms (${diff(addFirst, passStream.first)} / ${diff(addLast, passStream.last)} ms)`
              : "",
          ]
            .filter((x) => x !== "")
            .join(", and ") +
          "."
        : "The passthrough phases (latency, stream) did not run, so there is nothing to compare with in this run."
    rows.push(
      `### Translated path (OpenAI client → Anthropic upstream)`,
      "",
      `${P.translatedMeasured} JSON requests and ${P.translatedStreamMeasured} ${P.chunks}-chunk SSE answers per target, one at a time, interleaved ` +
        `(after ${P.translatedWarmup} and ${P.translatedStreamWarmup} warm-up). Direct = Anthropic body to the upstream's \`/v1/messages\`;`,
      "gateway = OpenAI chat body to `/v1/chat/completions` with model `claude-bench`, which the gateway translates to an Anthropic",
      "request for the `bench-anthropic` provider and whose answer (JSON, or the Anthropic event stream) it translates back.",
      "",
      "| target | JSON p50 ms | JSON p99 ms | added JSON p50 ms | added JSON p99 ms | first token p50 ms | last token p50 ms | added first p50 ms | added last p50 ms |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
      `| direct (upstream, Anthropic) | ${fmt(percentile(dj, 0.5), 3)} | ${fmt(percentile(dj, 0.99), 3)} | — | — | ${fmt(ds.f50, 3)} | ${fmt(ds.l50, 3)} | — | — |`,
      `| gateway (OpenAI → Anthropic) | ${fmt(percentile(gj, 0.5), 3)} | ${fmt(percentile(gj, 0.99), 3)} | ${fmt(add50, 3)} | ${fmt(add99, 3)} | ` +
        `${fmt(gs.f50, 3)} | ${fmt(gs.l50, 3)} | ${fmt(addFirst, 3)} | ${fmt(addLast, 3)} |`,
      "",
      `Added = percentile(gateway) − percentile(direct) over the ${P.translatedMeasured} interleaved requests (the passthrough's added`,
      `latency is the median over ${P.latencyBlocks} blocks of ${P.latencyMeasured / P.latencyBlocks}). No target is defined for this path. ${comparison}`,
      "",
    )
  }

  if (throughput) {
    const row = (name: string, runs: ReadonlyArray<ThroughputRun>) =>
      `| ${name} | ${fmt(median(runs.map((r) => r.rps)), 0)} | ${runs.map((r) => r.rps.toFixed(0)).join(", ")} | ` +
      `${fmt(median(runs.map((r) => r.p99)), 0)} | ${fmt(median(runs.map((r) => r.cpuPerRequest)), 0)} |`
    const gw = median(throughput.gateway.map((r) => r.rps))
    const bl = median(throughput.baseline.map((r) => r.rps))
    const ratio = gw / bl
    const cpuRatio =
      median(throughput.gateway.map((r) => r.cpuPerRequest)) / median(throughput.baseline.map((r) => r.cpuPerRequest))
    rows.push(
      `### Throughput (JSON, ${P.connections} connections, ${P.throughputSeconds} s per run, gateway and baseline alternated ×${P.throughputRepeats})`,
      "",
      "| target | req/s (median) | runs | p99 latency ms (median) | CPU µs per request (median) |",
      "|---|---:|---|---:|---:|",
      row("direct (upstream)", [throughput.direct]),
      row("baseline proxy", throughput.baseline),
      row("gateway", throughput.gateway),
      "",
      `Gateway / baseline: **${fmt(ratio * 100, 1)} %** of the requests per second. CPU per request (the proxy process's own`,
      `user + system time from /proc, divided by the requests served — robust against other load on the machine):`,
      `gateway / baseline = ${fmt(cpuRatio, 1)} ×.`,
      "",
    )
    checks.push({
      what: "throughput vs minimal proxy",
      target: "≥ 50 %",
      value: `${fmt(ratio * 100, 1)} %`,
      ok: ratio >= 0.5,
    })
  }

  if (memory) {
    const first = memory[0]!
    const last = memory[memory.length - 1]!
    const mid = memory[Math.floor(memory.length / 2)]!
    const lateGrowth = last.rss - mid.rss
    rows.push(
      `### Gateway resident memory (then up to ${P.memoryRequests} more requests at ${P.connections} connections, half JSON, half SSE; ` +
        `each quarter capped at ${P.memoryStepCapSeconds} s)`,
      "",
      "| moment | VmRSS MB | VmHWM (peak) MB |",
      "|---|---:|---:|",
      `| first start on an empty DATA_DIR (initdb), idle | ${fmt(firstStartRss.rss, 1)} | ${fmt(firstStartRss.hwm, 1)} |`,
      `| measured gateway (initialised DATA_DIR), idle before any traffic | ${fmt(idleRss.rss, 1)} | ${fmt(idleRss.hwm, 1)} |`,
      ...memory.map(
        (m) => `| after the run${m.after > 0 ? ` + ${m.after} requests` : ""} | ${fmt(m.rss, 1)} | ${fmt(m.hwm, 1)} |`,
      ),
      "",
      `Requests served: ${last.after}${last.after < P.memoryRequests ? ` of the ${P.memoryRequests} asked (the time cap stopped the quarters early)` : ""}. ` +
        `Growth over them: ${fmt(last.rss - first.rss, 1)} MB; over the last ${last.after - mid.after}: ${fmt(lateGrowth, 1)} MB.`,
      "VmRSS is the gateway process alone: the embedded database (PGlite) runs in a child process of its own, and with",
      "`DATABASE_URL` (external Postgres) there is none.",
      "",
    )
    checks.push({
      what: "RSS after the run",
      target: "≤ 200 MB",
      value: `${fmt(first.rss, 1)} MB`,
      ok: first.rss <= 200,
    })
    const growth = last.rss - first.rss
    checks.push({
      what: `RSS after ${last.after} more requests`,
      target: "≤ 200 MB",
      value: `${fmt(last.rss, 1)} MB`,
      ok: last.rss <= 200,
    })
    checks.push({
      what: "RSS growth over those requests (trend)",
      target: "≤ 8 MB",
      value: `${growth >= 0 ? "+" : ""}${fmt(growth, 1)} MB (last half ${lateGrowth >= 0 ? "+" : ""}${fmt(lateGrowth, 1)} MB)`,
      ok: growth <= 8,
    })
  }

  const summary = [
    "### Targets",
    "",
    "| metric | target | measured | verdict |",
    "|---|---|---|---|",
    ...(checks.length > 0
      ? checks.map((c) => `| ${c.what} | ${c.target} | ${c.value} | ${verdict(c.ok)} |`)
      : ["| (no phase with a target ran) | | | |"]),
    "",
  ]
  const footer = [
    `The gateway wrote ${logLines} access-log lines at INFO during the run. Total bench time ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    PROFILE ? `CPU profile: ${profileDir}` : "",
  ]
  const generated = [...lines, ...summary, ...rows, ...footer].join("\n")
  writeResults(generated)
  process.stdout.write(`\n${[...summary].join("\n")}\n`)
  log(`results written to ${path.relative(ROOT, RESULTS)}`)
  if (PROFILE) {
    for (const f of fs.existsSync(profileDir) ? fs.readdirSync(profileDir) : [])
      log(`cpu profile: ${path.join(profileDir, f)}`)
  }
  if (NODE_ARGS.length > 0) log(`gateway log (node flags ${NODE_ARGS.join(" ")}): ${gatewayLog}`)
  else if (!PROFILE) fs.rmSync(tmp, { recursive: true, force: true })
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.stderr.write(`[bench] gateway log kept in ${tmp}\n`)
    killAll()
    process.exit(1)
  },
)
