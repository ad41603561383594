import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { gunzipSync, gzipSync } from "node:zlib"
import { migrations } from "../../migrations/index.js"
import { COMPLETE_MARKER, holdsCluster, TEMPLATE_FILE } from "./EmbeddedStart.js"

/**
 * A migrated embedded database, packed once at build time (`npm run build` runs
 * `cli/BuildEmbeddedTemplate`) and unpacked into an empty `DATA_DIR/pglite` on a first start.
 * PGlite's initdb runs Postgres' bootstrap in WASM: seconds of CPU and a few hundred MB at peak;
 * unpacking its result takes milliseconds.
 *
 * The archive is gzip over: a magic line, the PGlite version line, the line of migrations it
 * holds, then per entry a type byte (`d`/`f`), the path's length (u16) and UTF-8 path, the mode
 * (u32), the size (u32) and the bytes. A template from another PGlite (another catalog version) is
 * never used, nor one holding a migration this build does not have; one that lacks the newest
 * migrations is (the migrator applies them after it).
 */

const MAGIC = "apiproxy-pgdata-template 1\n"

/** The files a data directory holds that are not the cluster's (our lock). */
const NOT_PACKED = new Set(["apiproxy.lock"])

export { TEMPLATE_FILE }

const pgliteVersion = (): string => {
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite")
  let directory = path.dirname(entry)
  while (!fs.existsSync(path.join(directory, "package.json"))) directory = path.dirname(directory)
  return (JSON.parse(fs.readFileSync(path.join(directory, "package.json"), "utf8")) as { version: string }).version
}

/** What a template is made of: a PGlite version and the migrations applied, in order. */
export interface TemplateKey {
  readonly pglite: string
  readonly migrations: ReadonlyArray<string>
}

/** This build's PGlite and migrations. */
export const currentKey = (): TemplateKey => ({ pglite: pgliteVersion(), migrations: Object.keys(migrations).sort() })

/** Same PGlite, and the template's migrations are the first of this build's. */
const usable = (template: TemplateKey, current: TemplateKey): boolean =>
  template.pglite === current.pglite &&
  template.migrations.length <= current.migrations.length &&
  template.migrations.every((name, i) => current.migrations[i] === name)

interface Entry {
  readonly type: "d" | "f"
  readonly path: string
  readonly mode: number
  readonly data: Buffer
}

const walk = (root: string, relative: string, out: Array<Entry>): void => {
  for (const name of fs.readdirSync(path.join(root, relative)).sort()) {
    const rel = relative === "" ? name : `${relative}/${name}`
    if (relative === "" && NOT_PACKED.has(name)) continue
    const full = path.join(root, rel)
    const stat = fs.statSync(full)
    if (stat.isDirectory()) {
      out.push({ type: "d", path: rel, mode: stat.mode & 0o7777, data: Buffer.alloc(0) })
      walk(root, rel, out)
    } else if (stat.isFile()) {
      out.push({ type: "f", path: rel, mode: stat.mode & 0o7777, data: fs.readFileSync(full) })
    }
  }
}

/** Packs the data directory `directory` (a cluster that is not running) under `key`. */
export const pack = (directory: string, key: TemplateKey): Buffer => {
  const entries: Array<Entry> = []
  walk(directory, "", entries)
  if (!entries.some((e) => e.path === COMPLETE_MARKER))
    throw new Error(`${directory} holds no cluster (${COMPLETE_MARKER} missing)`)
  // Directories first (walk order), the marker last.
  const ordered = [
    ...entries.filter((e) => e.path !== COMPLETE_MARKER),
    ...entries.filter((e) => e.path === COMPLETE_MARKER),
  ]
  const chunks: Array<Buffer> = [Buffer.from(`${MAGIC}${key.pglite}\n${key.migrations.join(",")}\n`)]
  for (const entry of ordered) {
    const name = Buffer.from(entry.path, "utf8")
    const header = Buffer.alloc(1 + 2 + name.length + 4 + 4)
    header.write(entry.type, 0, "latin1")
    header.writeUInt16BE(name.length, 1)
    name.copy(header, 3)
    header.writeUInt32BE(entry.mode, 3 + name.length)
    header.writeUInt32BE(entry.data.length, 7 + name.length)
    chunks.push(header, entry.data)
  }
  return gzipSync(Buffer.concat(chunks))
}

const isSafeRelativePath = (p: string): boolean =>
  p !== "" &&
  !p.startsWith("/") &&
  !p.includes("\\") &&
  p.split("/").every((part) => part !== "" && part !== "." && part !== "..")

/**
 * One output buffer for the whole archive: gzip's trailer holds the size (modulo 4 GiB). With
 * zlib's default 16 KiB chunks the 40 MB template became ~2 500 small allocations on the C heap,
 * which the allocator kept after they were freed: +40 MB of idle RSS in the gateway after every
 * first start (bench/RESULTS.md). A single large buffer is mapped on its own and returned whole
 * (one byte more, so zlib does not ask for a second one to find the end). Bounded: the trailer is
 * only a claim.
 */
const outputChunkSize = (archive: Buffer): number =>
  archive.length < 4
    ? 64 * 1024
    : Math.min(Math.max(archive.readUInt32LE(archive.length - 4) + 1, 64 * 1024), 256 * 1024 * 1024)

/**
 * The entries of `archive` when it is usable with `current`; `undefined` when it is not. Throws
 * for an archive that is not a template or is cut short, before anything is written.
 */
export const unpack = (archive: Buffer, current: TemplateKey): ReadonlyArray<Entry> | undefined => {
  const raw = gunzipSync(archive, { chunkSize: outputChunkSize(archive) })
  const magic = raw.subarray(0, MAGIC.length).toString("latin1")
  if (magic !== MAGIC) throw new Error("not an embedded database template")
  const versionEnd = raw.indexOf(0x0a, MAGIC.length)
  const migrationsEnd = versionEnd < 0 ? -1 : raw.indexOf(0x0a, versionEnd + 1)
  if (migrationsEnd < 0) throw new Error("template cut short")
  const migrationList = raw.toString("utf8", versionEnd + 1, migrationsEnd)
  const key: TemplateKey = {
    pglite: raw.toString("utf8", MAGIC.length, versionEnd),
    migrations: migrationList === "" ? [] : migrationList.split(","),
  }
  if (!usable(key, current)) return undefined
  const entries: Array<Entry> = []
  let offset = migrationsEnd + 1
  const need = (n: number) => {
    if (offset + n > raw.length) throw new Error("template cut short")
  }
  while (offset < raw.length) {
    need(3)
    const type = raw.toString("latin1", offset, offset + 1)
    const nameLength = raw.readUInt16BE(offset + 1)
    offset += 3
    need(nameLength + 8)
    const name = raw.toString("utf8", offset, offset + nameLength)
    const mode = raw.readUInt32BE(offset + nameLength)
    const size = raw.readUInt32BE(offset + nameLength + 4)
    offset += nameLength + 8
    need(size)
    if ((type !== "d" && type !== "f") || !isSafeRelativePath(name))
      throw new Error(`template entry '${name.slice(0, 64)}' is invalid`)
    entries.push({ type, path: name, mode, data: raw.subarray(offset, offset + size) })
    offset += size
  }
  if (entries.at(-1)?.path !== COMPLETE_MARKER) throw new Error("template cut short")
  return entries
}

export type RestoreOutcome = "existing cluster" | "restored" | "no template" | "stale template"

/**
 * Unpacks the template into `directory` unless it already holds a cluster. The marker file is
 * written last, so an interrupted restore is done again on the next start.
 */
export const restoreInto = (directory: string, templateFile: string = TEMPLATE_FILE): RestoreOutcome => {
  if (holdsCluster(directory)) return "existing cluster"
  let archive: Buffer
  try {
    archive = fs.readFileSync(templateFile)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "no template"
    throw error
  }
  const entries = unpack(archive, currentKey())
  if (entries === undefined) return "stale template"
  for (const entry of entries) {
    const target = path.join(directory, entry.path)
    if (entry.type === "d") fs.mkdirSync(target, { recursive: true, mode: entry.mode })
    else fs.writeFileSync(target, entry.data, { mode: entry.mode })
  }
  return "restored"
}
