/**
 * Builds the web console (console/) into dist/console/: one JS and one CSS file with content
 * hashes in their names, and an index.html that references them. Runs at `npm run build`
 * (so at `npm ci`, through `prepare`), and from the console's browser test.
 *
 *   npx tsx scripts/build-console.ts [outdir]
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

const escapeAttribute = (value: string): string => value.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`)

/** Builds into `outdir` (emptied first); returns the files written with their sizes in bytes. */
export const buildConsole = async (outdir = path.join(root, "dist", "console")): Promise<Record<string, number>> => {
  fs.rmSync(outdir, { recursive: true, force: true })
  fs.mkdirSync(outdir, { recursive: true })
  const result = await esbuild.build({
    entryPoints: { app: path.join(root, "console", "src", "main.tsx") },
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    entryNames: "[name]-[hash]",
    outdir,
    metafile: true,
    legalComments: "none",
    tsconfig: path.join(root, "console", "tsconfig.json"),
    logLevel: "warning",
  })
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file))
  const script = outputs.find((file) => file.endsWith(".js"))
  const style = outputs.find((file) => file.endsWith(".css"))
  if (script === undefined || style === undefined)
    throw new Error(`console build: expected one .js and one .css, got ${outputs.join(", ")}`)
  const template = fs.readFileSync(path.join(root, "console", "index.html"), "utf8")
  const page = template
    .replace("%SCRIPT%", `/ui/${escapeAttribute(script)}`)
    .replace("%STYLE%", `/ui/${escapeAttribute(style)}`)
  fs.writeFileSync(path.join(outdir, "index.html"), page)
  const sizes: Record<string, number> = {}
  for (const file of fs.readdirSync(outdir)) sizes[file] = fs.statSync(path.join(outdir, file)).size
  return sizes
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now()
  const sizes = await buildConsole(process.argv[2] === undefined ? undefined : path.resolve(process.argv[2]))
  const listed = Object.entries(sizes).map(([file, bytes]) => `${file} ${(bytes / 1024).toFixed(1)} KiB`)
  console.log(`console built in ${Math.round(performance.now() - started)} ms: ${listed.join(", ")}`)
}
