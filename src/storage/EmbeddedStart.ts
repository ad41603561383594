import { type ChildProcess, fork } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { EmbeddedMessage } from "./EmbeddedPostgresProcess.js"
import type { RestoreOutcome } from "./EmbeddedTemplate.js"

/**
 * Opening the embedded database on the gateway's side: its directory, the lock, the build's
 * template, and the process that serves it (`EmbeddedPostgresProcess`). Node built-ins only, so
 * `main.ts` can start it before the gateway's own modules load (about two seconds of CPU): the
 * database boots (PGlite, its WASM, Postgres' start) on the other core meanwhile, and
 * `Database.embedded` adopts the running process (`take`). Nothing here logs: what the caller
 * should report comes back in `EmbeddedDatabase.template`.
 */

/** Where the embedded database of a `DATA_DIR` lives. */
export const embeddedDirectory = (dataDir: string): string => path.join(dataDir, "pglite")

/** Written last when a cluster is made or restored: a directory holding it is a complete cluster. */
export const COMPLETE_MARKER = "PG_VERSION"

export const holdsCluster = (directory: string): boolean => fs.existsSync(path.join(directory, COMPLETE_MARKER))

/** Which step failed: the caller words the message (`Database.embedded`). */
export class EmbeddedStartError extends Error {
  constructor(
    readonly step: "create" | "lock" | "open",
    override readonly cause: unknown,
  ) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

const here = fileURLToPath(import.meta.url)
/** Run from the sources (tsx, vitest) rather than from the build's bundle (`dist/gateway/*.js`). */
const fromSources = here.endsWith(".ts")
/** `dist/` of the package, from the bundle's `dist/gateway/` or the sources' `src/storage/`. */
const distDirectory = path.resolve(path.dirname(here), fromSources ? "../../dist" : "..")

/** Where the build puts the template (`EmbeddedTemplate`) and the gateway looks for it. */
export const TEMPLATE_FILE = path.join(distDirectory, "embedded-database.template")

/** What happened to the build's template; `unusable` carries why it could not be read. */
export type TemplateOutcome =
  | Exclude<RestoreOutcome, "stale template">
  | "not used"
  | { readonly stale: string }
  | { readonly unusable: unknown; readonly file: string }

export interface EmbeddedDatabase {
  readonly port: number
  readonly child: ChildProcess
  readonly template: TemplateOutcome
  /** Asks the database to close cleanly (killed after 10 s), then releases the lock. */
  readonly stop: () => Promise<void>
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * PGlite has no postmaster lock: two processes on one data directory would corrupt it. A lock
 * file holding our pid guards it; a lock left by a dead process is taken over. Returns the release.
 */
const lockDirectory = (directory: string): (() => void) => {
  const lockFile = path.join(directory, "apiproxy.lock")
  const take = (): void => {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      const holder = Number.parseInt(fs.readFileSync(lockFile, "utf8"), 10)
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new Error(`in use by process ${holder} (run one instance per DATA_DIR, or set DATABASE_URL)`)
      }
      if (holder === process.pid) throw new Error("already open in this process")
      fs.rmSync(lockFile, { force: true })
      take()
    }
  }
  take()
  return () => fs.rmSync(lockFile, { force: true })
}

/**
 * The build's migrated template into an empty directory; without a usable one PGlite runs initdb
 * itself. `EmbeddedTemplate` (which reads the migrations, and so loads Effect) is loaded only when
 * the directory holds no cluster yet: a restart forks the database before any of it loads.
 */
const restoreTemplate = async (directory: string, file: string): Promise<TemplateOutcome> => {
  if (holdsCluster(directory)) return "existing cluster"
  try {
    const EmbeddedTemplate = await import("./EmbeddedTemplate.js")
    const outcome = EmbeddedTemplate.restoreInto(directory, file)
    return outcome === "stale template" ? { stale: file } : outcome
  } catch (error) {
    return { unusable: error, file }
  }
}

/** The child's entry in the bundle (scripts/build-gateway.ts): it imports PGlite and nothing of `src/`. */
const bundledEntry = path.join(
  fromSources ? path.join(distDirectory, "gateway") : path.dirname(here),
  "embedded-database.js",
)
const sourceEntry = path.join(path.dirname(here), "EmbeddedPostgresProcess.ts")

/**
 * The child's entry, and whether it needs the TypeScript loader: the bundle's. From the sources
 * (tsx, vitest) too when the build of that one file is newer than its source: the loader costs the
 * child ~0.6 s of CPU per start (1.33 → 0.71 s measured), paid by every test that opens the
 * embedded database; else the source under tsx.
 */
const childEntry = (): { readonly entry: string; readonly typescript: boolean } => {
  if (!fromSources) return { entry: bundledEntry, typescript: false }
  const built = fs.statSync(bundledEntry, { throwIfNoEntry: false })
  return built !== undefined && built.mtimeMs >= fs.statSync(sourceEntry).mtimeMs
    ? { entry: bundledEntry, typescript: false }
    : { entry: sourceEntry, typescript: true }
}
/**
 * V8 flags of the embedded database's process. `--liftoff-only`: Postgres' WASM runs on V8's
 * baseline compiler only; the optimising compiler would recompile the hot part of 9 MB of WASM at
 * every start — measured, about a second of CPU and 30 MB of code more, for no gain on the
 * gateway's small queries (a mixed insert/select loop took less CPU without it). A young
 * generation of 1 MB: the process allocates little JavaScript.
 */
const EMBEDDED_V8_FLAGS = ["--liftoff-only", "--max-semi-space-size=1"]

/**
 * The embedded database's environment: the gateway's, with one malloc arena. glibc gives each
 * thread that allocates (V8's compiler and GC helpers, libuv's pool) an arena of its own and keeps
 * what they freed; the database's process does its work on one thread. Measured idle: −6 MB RSS.
 * An operator's own MALLOC_ARENA_MAX is kept.
 */
const embeddedEnvironment = (): NodeJS.ProcessEnv => ({ MALLOC_ARENA_MAX: "1", ...process.env })
const EMBEDDED_START_TIMEOUT_MS = 120_000

/**
 * Forks the embedded database's process and waits for the port it serves on. The child and its
 * channel are unreferenced: a gateway that fails before it adopts the database still exits (the
 * child follows on `disconnect`); `Database.embedded` references them again.
 */
const forkEmbedded = (directory: string, onFork: (child: ChildProcess) => void = () => undefined) =>
  new Promise<{ readonly child: ChildProcess; readonly port: number }>((resolve, reject) => {
    const { entry, typescript } = childEntry()
    const child = fork(entry, [directory], {
      execArgv: [...EMBEDDED_V8_FLAGS, ...(typescript ? ["--import", "tsx"] : [])],
      env: embeddedEnvironment(),
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    })
    child.unref()
    child.channel?.unref()
    onFork(child)
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`did not start within ${EMBEDDED_START_TIMEOUT_MS / 1000} s`))
    }, EMBEDDED_START_TIMEOUT_MS)
    timer.unref()
    const done = () => {
      clearTimeout(timer)
      child.off("message", onMessage)
      child.off("exit", onExit)
      child.off("error", onError)
    }
    const onMessage = (message: unknown) => {
      done()
      const m = message as EmbeddedMessage
      if ("port" in m) resolve({ child, port: m.port })
      else {
        child.kill("SIGKILL")
        reject(new Error(m.error))
      }
    }
    const onExit = (code: number | null) => {
      done()
      reject(new Error(`its process exited with code ${code}`))
    }
    const onError = (error: Error) => {
      done()
      child.kill("SIGKILL")
      reject(error)
    }
    child.on("message", onMessage)
    child.once("exit", onExit)
    child.once("error", onError)
  })

/** Asks the embedded database to close cleanly; kills it if it has not exited in 10 s. */
const stopEmbedded = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.ref()
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    if (child.connected) child.send("stop")
    else child.kill("SIGTERM")
  })

/**
 * Opens the embedded database in `directory` (created if missing, from the build's template when
 * it is usable; `template: false` always runs initdb): takes the lock, forks its process, and
 * resolves once it serves. On failure nothing is left running and the lock is released.
 */
export const open = async (
  directory: string,
  options: { readonly template?: string | false; readonly onFork?: (child: ChildProcess) => void } = {},
): Promise<EmbeddedDatabase> => {
  try {
    fs.mkdirSync(directory, { recursive: true })
  } catch (error) {
    throw new EmbeddedStartError("create", error)
  }
  let release: () => void
  try {
    release = lockDirectory(directory)
  } catch (error) {
    throw new EmbeddedStartError("lock", error)
  }
  try {
    const template =
      options.template === false ? "not used" : await restoreTemplate(directory, options.template ?? TEMPLATE_FILE)
    const { child, port } = await forkEmbedded(directory, options.onFork)
    return { port, child, template, stop: () => stopEmbedded(child).finally(release) }
  } catch (error) {
    release()
    throw new EmbeddedStartError("open", error)
  }
}

/** Databases started ahead of their user (`prestart`), by resolved directory; `child` once forked. */
const started = new Map<string, { readonly opening: Promise<EmbeddedDatabase>; child?: ChildProcess }>()

/**
 * Starts opening `directory` now, for `take` to adopt later in this process (`main.ts`, before
 * the gateway's modules load). Resolves once the database's process is forked (on a first start,
 * after the template is unpacked) or opening failed; the failure is kept for `take` to report.
 */
export const prestart = (directory: string): Promise<void> => {
  const key = path.resolve(directory)
  if (started.has(key)) return Promise.resolve()
  return new Promise<void>((forked) => {
    const entry: { opening: Promise<EmbeddedDatabase>; child?: ChildProcess } = {
      opening: open(directory, {
        onFork: (child) => {
          entry.child = child
          forked()
        },
      }),
    }
    entry.opening.catch(() => forked()) // reported by `take`
    started.set(key, entry)
  })
}

/** The database `prestart` began for `directory` (once), or a new `open`. */
export const take = (
  directory: string,
  options: { readonly template?: string | false } = {},
): Promise<EmbeddedDatabase> => {
  const key = path.resolve(directory)
  const early = started.get(key)
  started.delete(key)
  return early?.opening ?? open(directory, options)
}

/**
 * Stops what `prestart` began and nothing adopted (a start that failed, or was interrupted,
 * before the database was needed), without waiting for it to finish starting: SIGTERM (a database
 * that already serves closes cleanly, one still starting ends as after a crash, which Postgres
 * recovers from), then the lock is released, before the process exits — a restart never meets a
 * database still closing in the same directory.
 */
export const abandon = async (): Promise<void> => {
  const left = [...started.values()]
  started.clear()
  for (const entry of left) entry.child?.kill("SIGTERM")
  await Promise.all(
    left.map((entry) =>
      entry.opening.then(
        (database) => database.stop(),
        () => undefined,
      ),
    ),
  )
}
