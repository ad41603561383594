import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../", import.meta.url))

/** Every file under `dir` (relative to the checkout), recursively. */
const filesUnder = (dir: string): ReadonlyArray<string> =>
  fs.existsSync(path.join(root, dir))
    ? fs
        .readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    : []

/** What `npm run build` makes of a source file under dist/, or `undefined` for what it does not compile. */
const builtFrom = (source: string): string | undefined => {
  if (source.endsWith(".d.ts")) return undefined
  if (source.endsWith(".ts")) return path.join("dist", source.replace(/\.ts$/, ".js"))
  if (source.endsWith(".json")) return path.join("dist", source)
  return undefined
}

/**
 * The build is current when every source and migration file it compiles has its output in dist/,
 * written after the file's last change. A checkout never built, or edited (or switched to another
 * commit: git rewrites the files it changes) since, is not.
 */
export const buildIsCurrent = (): boolean =>
  ["src", "migrations"].flatMap(filesUnder).every((source) => {
    const output = builtFrom(source)
    if (output === undefined) return true
    const built = fs.statSync(path.join(root, output), { throwIfNoEntry: false })
    return built !== undefined && built.mtimeMs >= fs.statSync(path.join(root, source)).mtimeMs
  })

let current: boolean | undefined

/**
 * Node's arguments to run the gateway's entry point in a process of its own: the build
 * (`dist/src/main.js`, what `npm start` runs) when it is current, else the sources under tsx.
 * The build starts on half the CPU time (no transform hooks, and its embedded database's process
 * runs compiled as well), and the fallback never runs code older than the checkout. Paths are
 * absolute: the process may run in any directory.
 */
export const mainEntry = (): ReadonlyArray<string> => {
  current ??= buildIsCurrent()
  return current ? [path.join(root, "dist/src/main.js")] : ["--import", "tsx", path.join(root, "src/main.ts")]
}
