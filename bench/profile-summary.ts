/**
 * Summarises a V8 `.cpuprofile` (from `BENCH_PROFILE=1 npm run bench` or `node --cpu-prof`):
 * self time per function, self time per package/file, and inclusive time of the gateway's own
 * functions (src/). Frames of the bundle (dist/gateway/*.js) are mapped back to their module
 * through the bundle's source maps, so packages and files are named as in the sources.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [top=30] [skip-seconds=0]
 *
 * `skip-seconds` ignores the samples of the first seconds of the profile (start-up).
 */
import * as fs from "node:fs"
import { SourceMap } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

interface Node {
  readonly id: number
  callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const file = process.argv[2]
if (!file) {
  process.stderr.write("usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n")
  process.exit(1)
}
const top = Number(process.argv[3] ?? "30")
const skipUs = Number(process.argv[4] ?? "0") * 1e6
const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile

/** The source map beside a bundled file (`x.js.map`), read once per file; `undefined` when none. */
const sourceMaps = new Map<string, SourceMap | undefined>()
const sourceMapOf = (url: string): SourceMap | undefined => {
  if (!url.startsWith("file://") || !url.endsWith(".js")) return undefined
  if (!sourceMaps.has(url)) {
    const mapFile = `${fileURLToPath(url)}.map`
    sourceMaps.set(
      url,
      fs.existsSync(mapFile) ? new SourceMap(JSON.parse(fs.readFileSync(mapFile, "utf8"))) : undefined,
    )
  }
  return sourceMaps.get(url)
}

// A bundled frame becomes the frame of the module it came from (its original file and line).
for (const node of profile.nodes) {
  const { url, lineNumber, columnNumber } = node.callFrame
  const entry = sourceMapOf(url)?.findEntry(lineNumber, columnNumber)
  if (entry === undefined || !("originalSource" in entry)) continue
  const original = path.resolve(path.dirname(fileURLToPath(url)), entry.originalSource)
  node.callFrame = { ...node.callFrame, url: `file://${original}`, lineNumber: entry.originalLine }
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const selfUs = new Map<number, number>()
let total = 0
let clock = 0
const counted = profile.samples.map((_, i) => {
  clock += profile.timeDeltas[i] ?? 0
  return clock >= skipUs
})
profile.samples.forEach((id, i) => {
  if (!counted[i]) return
  const dt = profile.timeDeltas[i] ?? 0
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt)
  total += dt
})

const shortUrl = (url: string) => {
  const file = url.replace(/^file:\/\//, "")
  return file.includes("/node_modules/")
    ? file.replace(/.*\/node_modules\//, "npm:")
    : file.replace(/.*\/(dist\/)?src\//, "src/")
}
const label = (n: Node) =>
  `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ""}`
const area = (n: Node) => {
  const u = shortUrl(n.callFrame.url)
  if (u.startsWith("npm:")) {
    const parts = u.slice(4).split("/")
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!
  }
  if (u.startsWith("src/")) return u
  return u === "" ? n.callFrame.functionName || "(native)" : `node:${u.replace(/^node:/, "")}`
}

const sum = (key: (n: Node) => string) => {
  const out = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const k = key(byId.get(id)!)
    out.set(k, (out.get(k) ?? 0) + us)
  }
  return [...out.entries()].sort((a, b) => b[1] - a[1])
}

// Inclusive time of gateway functions: each sample counts once per distinct frame on its stack.
const inclusive = new Map<string, number>()
profile.samples.forEach((id, i) => {
  if (!counted[i]) return
  const dt = profile.timeDeltas[i] ?? 0
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur)!
    if (!shortUrl(n.callFrame.url).startsWith("src/")) continue
    const k = label(n)
    if (seen.has(k)) continue
    seen.add(k)
    inclusive.set(k, (inclusive.get(k) ?? 0) + dt)
  }
})

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`
const print = (title: string, rows: ReadonlyArray<[string, number]>) => {
  process.stdout.write(`\n== ${title}\n`)
  for (const [k, us] of rows.slice(0, top))
    process.stdout.write(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`)
}

process.stdout.write(`total sampled: ${(total / 1e6).toFixed(2)} s\n`)
print("self time by package / file", sum(area))
print("self time by function", sum(label))
print(
  "inclusive time of gateway functions (src/)",
  [...inclusive.entries()].sort((a, b) => b[1] - a[1]),
)
