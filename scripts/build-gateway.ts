/**
 * Builds the gateway into dist/gateway/: one esbuild bundle (ESM, split into chunks) of its three
 * entry points, which is what `npm start`, `npm run demo`, the `apiproxy` command and the image run.
 * Runs at `npm run build` (so at `npm ci`, through `prepare`).
 *
 * - `main.js`: the gateway and its commands (`src/main.ts`). What it imports lazily (the gateway
 *   behind the database's early start, the demo, the Redis and tracing back-ends, the tokenizer's
 *   tables) stays in chunks of their own, loaded when used.
 * - `embedded-database.js`: the embedded database's process (`storage/EmbeddedPostgresProcess`),
 *   forked by `storage/EmbeddedStart`.
 * - `build-embedded-template.js`: makes `dist/embedded-database.template` (`cli/BuildEmbeddedTemplate`).
 *
 * Why a bundle: the gateway imports about 2 000 modules from node_modules; Node loading them one by
 * one was most of a start (1.6 s of CPU for the module graph against 0.6 s for the bundle, 137 →
 * ~100 MB RSS: the `effect` barrel's unused modules, fast-check among them, are shaken out).
 * bench/RESULTS.md, "Start time". PGlite and its socket server stay in node_modules (they load
 * their WASM and data files beside their own modules), as do the packages loaded only on demand.
 *
 *   npx tsx scripts/build-gateway.ts
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** Where the bundle goes; `storage/EmbeddedStart` finds `embedded-database.js` beside its chunk. */
export const GATEWAY_OUTDIR = path.join(root, "dist", "gateway")

/**
 * Not bundled: PGlite (WASM and data files found beside its modules), `pg-native` (an optional
 * native module `pg` asks for), and what only some configurations load (Redis, OpenTelemetry).
 */
const EXTERNAL = [
  "@electric-sql/pglite",
  "@electric-sql/pglite/*",
  "@electric-sql/pglite-socket",
  "pg-native",
  "ioredis",
  "@opentelemetry/*",
  "@effect/opentelemetry",
  "@effect/opentelemetry/*",
]

/**
 * CommonJS packages inside an ESM bundle call `require` for Node's built-ins; ESM has none, so
 * each chunk gets one bound to its own location.
 */
const REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"

/** Builds into `outdir` (emptied first); returns the bytes written per file. */
export const buildGateway = async (outdir = GATEWAY_OUTDIR): Promise<Record<string, number>> => {
  fs.rmSync(outdir, { recursive: true, force: true })
  const result = await esbuild.build({
    entryPoints: {
      main: path.join(root, "src", "main.ts"),
      "embedded-database": path.join(root, "src", "storage", "EmbeddedPostgresProcess.ts"),
      "build-embedded-template": path.join(root, "src", "cli", "BuildEmbeddedTemplate.ts"),
    },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    tsconfig: path.join(root, "tsconfig.json"),
    external: EXTERNAL,
    banner: { js: REQUIRE_SHIM },
    minifySyntax: true,
    minifyWhitespace: true,
    sourcemap: "linked",
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
  })
  fs.chmodSync(path.join(outdir, "main.js"), 0o755)
  const sizes: Record<string, number> = {}
  for (const file of Object.keys(result.metafile.outputs))
    sizes[path.basename(file)] = result.metafile.outputs[file]?.bytes ?? 0
  return sizes
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now()
  const sizes = await buildGateway()
  const code = Object.entries(sizes).filter(([file]) => file.endsWith(".js"))
  const total = code.reduce((sum, [, bytes]) => sum + bytes, 0)
  console.log(
    `gateway built in ${Math.round(performance.now() - started)} ms: ${code.length} files, ${(total / 1024 / 1024).toFixed(1)} MiB of JavaScript in ${path.relative(root, GATEWAY_OUTDIR)}/`,
  )
}
