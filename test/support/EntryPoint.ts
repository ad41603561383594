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

/** The build's entry point (scripts/build-gateway.ts): what `npm start` runs. */
const BUILT_MAIN = "dist/gateway/main.js"

/**
 * The build is current when its bundle was written after the last change of every source and
 * migration file it is made of. A checkout never built, or edited (or switched to another commit:
 * git rewrites the files it changes) since, is not.
 */
export const buildIsCurrent = (): boolean => {
  const built = fs.statSync(path.join(root, BUILT_MAIN), { throwIfNoEntry: false })
  return (
    built !== undefined &&
    ["src", "migrations"]
      .flatMap(filesUnder)
      .every((source) => built.mtimeMs >= fs.statSync(path.join(root, source)).mtimeMs)
  )
}

let current: boolean | undefined

/**
 * Node's arguments to run the gateway's entry point in a process of its own: the build
 * (the bundle, what `npm start` runs) when it is current, else the sources under tsx.
 * The build starts on half the CPU time (no transform hooks, and its embedded database's process
 * runs compiled as well), and the fallback never runs code older than the checkout. Paths are
 * absolute: the process may run in any directory.
 */
export const mainEntry = (): ReadonlyArray<string> => {
  current ??= buildIsCurrent()
  return current ? [path.join(root, BUILT_MAIN)] : ["--import", "tsx", path.join(root, "src/main.ts")]
}
