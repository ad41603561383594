import { type ChildProcess, fork } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Cause, Context, Duration, Effect, Layer, Option, Redacted, Schema, type Scope } from "effect"
import { migrations } from "../../migrations/index.js"
import { AppConfig } from "../config/AppConfig.js"
import type { EmbeddedMessage } from "./EmbeddedPostgresProcess.js"
import * as EmbeddedTemplate from "./EmbeddedTemplate.js"

/**
 * The SQL database: Postgres at `DATABASE_URL`, or, without it, embedded PGlite persisted under
 * `DATA_DIR/pglite` and served on a loopback port so the same `@effect/sql-pg` client, SQL and
 * migrations run against both.
 */

export class DatabaseError extends Schema.TaggedError<DatabaseError>()("DatabaseError", {
  message: Schema.String,
}) {}

/** Name of the table where the migrator records applied migrations. */
export const MIGRATIONS_TABLE = "effect_sql_migrations"

const CONNECT_TIMEOUT = Duration.seconds(10)

const reasonOf = (cause: unknown): string => {
  // SqlError wraps the driver's error; the driver's message is the useful part.
  let current: unknown = cause
  while (current instanceof Error && "cause" in current && current.cause instanceof Error) current = current.cause
  if (current instanceof AggregateError && current.errors.length > 0) current = current.errors[0]
  const message = current instanceof Error ? current.message : String(current)
  return message === "" && current instanceof Error && "code" in current ? String(current.code) : message
}

/** `host:port/database` of a Postgres URL, without credentials. */
export const describeDatabaseUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname === "/" ? "" : parsed.pathname}`
  } catch {
    return "<unparseable DATABASE_URL>"
  }
}

const pgClientContext = (client: PgClient.PgClient) =>
  Context.make(PgClient.PgClient, client).pipe(Context.add(SqlClient.SqlClient, client))

/** A pooled client for a Postgres server; fails with a message naming host:port, never the password. */
export const connect = (
  url: Redacted.Redacted<string>,
  options: { readonly maxConnections?: number } = {},
): Effect.Effect<PgClient.PgClient, DatabaseError, Scope.Scope | Reactivity.Reactivity> =>
  PgClient.make({
    url,
    connectTimeout: CONNECT_TIMEOUT,
    ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
  }).pipe(
    Effect.mapError(
      (error) =>
        new DatabaseError({
          message: `DATABASE_URL: could not connect to postgres at ${describeDatabaseUrl(Redacted.value(url))}: ${reasonOf(error.cause ?? error)}`,
        }),
    ),
  )

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
 * file holding our pid guards it; a lock left by a dead process is taken over.
 */
const lockDirectory = (directory: string): Effect.Effect<void, DatabaseError, Scope.Scope> => {
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
  return Effect.acquireRelease(
    Effect.try({
      try: take,
      catch: (cause) =>
        new DatabaseError({ message: `DATA_DIR: embedded database at ${directory} is locked: ${reasonOf(cause)}` }),
    }),
    () => Effect.sync(() => fs.rmSync(lockFile, { force: true })),
  )
}

const here = fileURLToPath(import.meta.url)
/** The child's entry next to this file: `.js` when compiled, `.ts` under tsx or vitest. */
const embeddedEntry = here.replace(/Database\.(ts|js)$/, "EmbeddedPostgresProcess.$1")
/**
 * V8 flags of the embedded database's process. `--liftoff-only`: Postgres' WASM runs on V8's
 * baseline compiler only; the optimising compiler would recompile the hot part of 9 MB of WASM at
 * every start — measured, about a second of CPU and 30 MB of code more, for no gain on the
 * gateway's small queries (a mixed insert/select loop took less CPU without it). A young
 * generation of 1 MB: the process allocates little JavaScript.
 */
const EMBEDDED_V8_FLAGS = ["--liftoff-only", "--max-semi-space-size=1"]
const embeddedExecArgv = [...EMBEDDED_V8_FLAGS, ...(here.endsWith(".ts") ? ["--import", "tsx"] : [])]
const EMBEDDED_START_TIMEOUT_MS = 120_000

/** Starts the embedded database's process and waits for the port it serves on. */
const startEmbeddedProcess = (directory: string) =>
  Effect.async<{ readonly child: ChildProcess; readonly port: number }, Error>((resume) => {
    const child = fork(embeddedEntry, [directory], {
      execArgv: embeddedExecArgv,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      resume(Effect.fail(new Error(`did not start within ${EMBEDDED_START_TIMEOUT_MS / 1000} s`)))
    }, EMBEDDED_START_TIMEOUT_MS)
    const done = () => {
      clearTimeout(timer)
      child.off("message", onMessage)
      child.off("exit", onExit)
      child.off("error", onError)
    }
    const onMessage = (message: unknown) => {
      done()
      const m = message as EmbeddedMessage
      if ("port" in m) resume(Effect.succeed({ child, port: m.port }))
      else resume(Effect.fail(new Error(m.error)))
    }
    const onExit = (code: number | null) => {
      done()
      resume(Effect.fail(new Error(`its process exited with code ${code}`)))
    }
    const onError = (error: Error) => {
      done()
      resume(Effect.fail(error))
    }
    child.on("message", onMessage)
    child.once("exit", onExit)
    child.once("error", onError)
    return Effect.sync(() => {
      done()
      child.kill("SIGKILL")
    })
  })

/** Asks the embedded database to close cleanly; kills it if it has not exited in 10 s. */
const stopEmbeddedProcess = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    if (child.connected) child.send("stop")
    else child.kill("SIGTERM")
  })

/**
 * Puts the build's migrated template (`EmbeddedTemplate`) into an empty `directory`; without a
 * usable one PGlite runs initdb itself. A template that cannot be read is reported and skipped.
 */
const restoreTemplate = (directory: string, templateFile: string) =>
  Effect.try(() => EmbeddedTemplate.restoreInto(directory, templateFile)).pipe(
    Effect.tap((outcome) =>
      outcome === "stale template"
        ? Effect.logWarning(
            `embedded database: the template ${templateFile} is for another PGlite or other migrations; initialising from scratch (npm run build makes a new one)`,
          )
        : Effect.void,
    ),
    Effect.catchAll((error) =>
      Effect.logWarning(
        `embedded database: the template ${templateFile} is unusable (${reasonOf(error.error)}); initialising from scratch`,
      ),
    ),
  )

/**
 * Embedded PGlite in `directory` (created if missing, from the build's template when it is
 * usable), in a process of its own (`EmbeddedPostgresProcess`), served on an ephemeral loopback
 * port, with a client pool of ONE connection (PGlite is single-session). Everything stops with
 * the scope. `template: false` always runs initdb (building the template itself).
 */
export const embedded = (
  directory: string,
  options: { readonly template?: string | false } = {},
): Effect.Effect<PgClient.PgClient, DatabaseError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function* () {
    const fail = (what: string) => (cause: unknown) =>
      new DatabaseError({ message: `DATA_DIR: ${what} embedded database at ${directory}: ${reasonOf(cause)}` })

    yield* Effect.try({
      try: () => fs.mkdirSync(directory, { recursive: true }),
      catch: fail("could not create the directory of the"),
    })
    yield* lockDirectory(directory)
    if (options.template !== false)
      yield* restoreTemplate(directory, options.template ?? EmbeddedTemplate.TEMPLATE_FILE)
    const { port } = yield* Effect.acquireRelease(startEmbeddedProcess(directory), ({ child }) =>
      stopEmbeddedProcess(child),
    ).pipe(Effect.mapError(fail("could not open the")))
    const host = "127.0.0.1"
    return yield* PgClient.make({
      host,
      port,
      username: "postgres",
      database: "postgres",
      maxConnections: 1,
      minConnections: 1,
      // Keep the single session open rather than reconnecting after every idle period.
      idleTimeout: Duration.zero,
      connectTimeout: CONNECT_TIMEOUT,
      applicationName: "apiproxy",
    }).pipe(Effect.mapError((error) => fail("could not connect to the")(error.cause ?? error)))
  })

/** Applies pending migrations (a no-op when all are applied); returns the ones it ran. */
export const migrate: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  DatabaseError,
  PgClient.PgClient | SqlClient.SqlClient
> = PgMigrator.run({ loader: PgMigrator.fromRecord(migrations), table: MIGRATIONS_TABLE }).pipe(
  // The migrator needs platform services only for schema dumps, which we do not request.
  Effect.provide(NodeContext.layer),
  // A failing migration is a defect inside the migrator: report it as a start-up error.
  Effect.catchAllCause((cause) =>
    Effect.fail(new DatabaseError({ message: `migrations failed: ${reasonOf(Cause.squash(cause))}` })),
  ),
  Effect.withSpan("Database.migrate"),
)

/** `SELECT 1`, for readiness probes. */
export const ping: Effect.Effect<void, DatabaseError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql`SELECT 1`,
).pipe(
  Effect.asVoid,
  Effect.mapError((error) => new DatabaseError({ message: `database unreachable: ${reasonOf(error.cause ?? error)}` })),
)

/** Postgres or embedded PGlite per `AppConfig`, without running migrations. */
export const layerClient: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, DatabaseError, AppConfig> =
  Layer.scopedContext(
    Effect.gen(function* () {
      const config = yield* AppConfig
      const client = yield* Option.match(config.databaseUrl, {
        onSome: (url) => connect(url),
        onNone: () => embedded(path.join(config.dataDir, "pglite")),
      })
      return pgClientContext(client)
    }),
  ).pipe(Layer.provide(Reactivity.layer))

/** A client from an explicit source (tests, tools), without running migrations. */
export const layerFrom = (
  source: { readonly url: Redacted.Redacted<string> } | { readonly embeddedDirectory: string },
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, DatabaseError> =>
  Layer.scopedContext(
    Effect.map("url" in source ? connect(source.url) : embedded(source.embeddedDirectory), pgClientContext),
  ).pipe(Layer.provide(Reactivity.layer))

/** Runs the migrations once the client is up. */
export const withMigrations = <E, R>(
  client: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, E, R>,
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, E | DatabaseError, R> =>
  Layer.effectDiscard(migrate).pipe(Layer.provideMerge(client))

/** The application's database: Postgres or embedded PGlite per `AppConfig`, migrated. */
export const layer: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, DatabaseError, AppConfig> =
  withMigrations(layerClient)
