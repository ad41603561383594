import * as fs from "node:fs"
import * as path from "node:path"
import { BaseSequencer, type TestSpecification } from "vitest/node"

/**
 * The order files start in: the longest first, so no long file starts last and keeps the run
 * waiting on one worker while the others idle (the embedded pass on a fresh clone, ordered by
 * file size, ended with startup, first-start and failoverbench: 293 s against 239 s).
 *
 * A file's weight is its duration in this checkout's last run (vitest's results cache, which a
 * fresh clone does not have), else the committed `test/durations.json` (`npm run
 * test:durations` rewrites it from the cache), else it goes first, as new files do in vitest's
 * own order. Files that failed last time still go first of all.
 */
export const DURATIONS_FILE = "test/durations.json"

const UNKNOWN = Number.MAX_SAFE_INTEGER

const readDurations = (root: string): Readonly<Record<string, number>> => {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(path.join(root, DURATIONS_FILE), "utf8"))
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, number>) : {}
  } catch {
    return {}
  }
}

export default class DurationSequencer extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const root = this.ctx.config.root
    const committed = readDurations(root)
    const cache = this.ctx.cache
    const facts = (spec: TestSpecification) => {
      const file = path.relative(root, spec.moduleId).split(path.sep).join("/")
      const last = cache.getFileTestResults(`${spec.project.name}:${file}`)
      return { failed: last?.failed === true, weight: last?.duration ?? committed[file] ?? UNKNOWN }
    }
    const known = new Map(files.map((spec) => [spec, facts(spec)]))
    return [...files].sort((a, b) => {
      const fa = known.get(a)!
      const fb = known.get(b)!
      if (fa.failed !== fb.failed) return fa.failed ? -1 : 1
      return fb.weight - fa.weight
    })
  }
}
