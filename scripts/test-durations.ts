/**
 * Writes `test/durations.json` (file → milliseconds, rounded to 100) from vitest's results cache of
 * the last `npm test` in this checkout: the order a fresh clone's test run starts its files in
 * (test/support/DurationSequencer.ts). Run it after a full run when files were added or grew.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { DURATIONS_FILE } from "../test/support/DurationSequencer.js"

const root = fileURLToPath(new URL("../", import.meta.url))
const cacheRoot = path.join(root, "node_modules/.vite/vitest")
const caches = fs.existsSync(cacheRoot)
  ? fs
      .readdirSync(cacheRoot)
      .map((dir) => path.join(cacheRoot, dir, "results.json"))
      .filter((file) => fs.existsSync(file))
  : []
if (caches.length === 0) {
  console.error("no vitest results cache under node_modules/.vite/vitest: run `npm test` first")
  process.exit(1)
}
const newest = caches.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0]!
const { results } = JSON.parse(fs.readFileSync(newest, "utf8")) as {
  readonly results: ReadonlyArray<readonly [string, { readonly duration?: number }]>
}
const durations: Record<string, number> = {}
for (const [key, result] of results) {
  const file = key.slice(key.indexOf(":") + 1)
  if (!fs.existsSync(path.join(root, file)) || !(result.duration! > 0)) continue
  durations[file] = Math.max(100, Math.round(result.duration! / 100) * 100)
}
const sorted = Object.fromEntries(Object.entries(durations).sort(([a], [b]) => a.localeCompare(b)))
fs.writeFileSync(path.join(root, DURATIONS_FILE), `${JSON.stringify(sorted, null, 2)}\n`)
console.log(`${DURATIONS_FILE}: ${Object.keys(sorted).length} files, from ${path.relative(root, newest)}`)
