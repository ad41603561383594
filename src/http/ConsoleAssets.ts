import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Config, Effect } from "effect"

/** One file of the built console, held in memory (the whole console is ≈ 40 KiB). */
export interface ConsoleAsset {
  readonly body: Buffer
  readonly contentType: string
  /** A strong validator: the SHA-256 of the body. */
  readonly etag: string
  /** The name carries a content hash (`app-XXXX.js`): cacheable for a year, never revalidated. */
  readonly immutable: boolean
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".json": "application/json",
}

/** A servable file name: one path segment, no dot first (so never `.` or `..`), a known type. */
export const SERVABLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/

/** `app-ABC123XY.js`: esbuild's `[name]-[hash]` (scripts/build-console.ts). */
const HASHED = /-[A-Z0-9]{8}\.[a-z]+$/

/** The console's files by name, from `dir`'s top level; the rest of the directory is ignored. */
export const readConsoleAssets = (dir: string): ReadonlyMap<string, ConsoleAsset> => {
  const assets = new Map<string, ConsoleAsset>()
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const contentType = CONTENT_TYPES[path.extname(entry.name)]
    if (!entry.isFile() || !SERVABLE_NAME.test(entry.name) || contentType === undefined) continue
    const body = fs.readFileSync(path.join(dir, entry.name))
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`
    assets.set(entry.name, { body, contentType, etag, immutable: HASHED.test(entry.name) })
  }
  return assets
}

/** `dist/console` of the installation: the nearest folder up from this module with a package.json. */
const defaultDir = (): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!fs.existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir)
  return path.join(dir, "dist", "console")
}

/**
 * The web console's built files (`npm run build` writes them to `dist/console/`; `CONSOLE_DIR`
 * points elsewhere), read once at start. `undefined` when there is no built console (a checkout
 * that was never built): `/ui` then says so instead of failing the start.
 */
export class ConsoleAssets extends Effect.Service<ConsoleAssets>()("gateway/http/ConsoleAssets", {
  effect: Effect.gen(function* () {
    const dir = yield* Config.string("CONSOLE_DIR").pipe(Config.withDefault(""))
    const folder = dir === "" ? defaultDir() : path.resolve(dir)
    const assets = yield* Effect.try(() => readConsoleAssets(folder)).pipe(Effect.option)
    if (assets._tag === "None" || !assets.value.has("index.html")) {
      yield* Effect.logWarning(`no web console at ${folder} (run npm run build): /ui answers 503`)
      return { folder, assets: undefined }
    }
    return { folder, assets: assets.value as ReadonlyMap<string, ConsoleAsset> | undefined }
  }),
}) {}
