import * as Reactivity from "@effect/experimental/Reactivity"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Cause, Context, Duration, Effect, Layer, Option, Redacted, Schema, type Scope } from "effect"
import { migrations } from "../../migrations/index.js"
import { AppConfig } from "../config/AppConfig.js"
import * as EmbeddedStart from "./EmbeddedStart.js"

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

const templateWarning = (outcome: EmbeddedStart.TemplateOutcome) =>
  typeof outcome !== "object"
    ? Effect.void
    : "stale" in outcome
      ? Effect.logWarning(
          `embedded database: the template ${outcome.stale} is for another PGlite or other migrations; initialising from scratch (npm run build makes a new one)`,
        )
      : Effect.logWarning(
          `embedded database: the template ${outcome.file} is unusable (${reasonOf(outcome.unusable)}); initialising from scratch`,
        )

/** What `EmbeddedStart` reports, worded for the operator: which step, which directory, why. */
const startFailure = (directory: string, error: unknown): DatabaseError => {
  const step = error instanceof EmbeddedStart.EmbeddedStartError ? error.step : "open"
  const reason = reasonOf(error instanceof EmbeddedStart.EmbeddedStartError ? error.cause : error)
  return new DatabaseError({
    message:
      step === "create"
        ? `DATA_DIR: could not create the directory of the embedded database at ${directory}: ${reason}`
        : step === "lock"
          ? `DATA_DIR: embedded database at ${directory} is locked: ${reason}`
          : `DATA_DIR: could not open the embedded database at ${directory}: ${reason}`,
  })
}

/**
 * The embedded database's process for `directory`: the one `main.ts` started ahead
 * (`EmbeddedStart.prestart`) or a new one. Interrupted while it starts, it is stopped once it
 * serves; released with the scope (a clean close, then the lock).
 */
const acquireEmbedded = (directory: string, options: { readonly template?: string | false }) =>
  Effect.acquireRelease(
    Effect.async<EmbeddedStart.EmbeddedDatabase, DatabaseError>((resume) => {
      let interrupted = false
      const opening = EmbeddedStart.take(directory, options)
      opening.then(
        (database) => {
          if (interrupted) void database.stop()
          else resume(Effect.succeed(database))
        },
        (error: unknown) => resume(Effect.fail(startFailure(directory, error))),
      )
      return Effect.sync(() => {
        interrupted = true
      })
    }),
    (database) => Effect.promise(database.stop),
  ).pipe(
    // The gateway now waits for it at shutdown (it was unreferenced while unadopted).
    Effect.tap((database) => Effect.sync(() => database.child.ref())),
    Effect.tap((database) => templateWarning(database.template)),
  )

/**
 * Embedded PGlite in `directory` (created if missing, from the build's template when it is
 * usable), in a process of its own (`EmbeddedPostgresProcess`, started by `EmbeddedStart`), served
 * on an ephemeral loopback port, with a client pool of ONE connection (PGlite is single-session).
 * Everything stops with the scope. `template: false` always runs initdb (building the template itself).
 */
export const embedded = (
  directory: string,
  options: { readonly template?: string | false } = {},
): Effect.Effect<PgClient.PgClient, DatabaseError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function* () {
    const { port } = yield* acquireEmbedded(directory, options)
    return yield* PgClient.make({
      host: "127.0.0.1",
      port,
      username: "postgres",
      database: "postgres",
      maxConnections: 1,
      minConnections: 1,
      // Keep the single session open rather than reconnecting after every idle period.
      idleTimeout: Duration.zero,
      connectTimeout: CONNECT_TIMEOUT,
      applicationName: "apiproxy",
    }).pipe(
      Effect.mapError(
        (error) =>
          new DatabaseError({
            message: `DATA_DIR: could not connect to the embedded database at ${directory}: ${reasonOf(error.cause ?? error)}`,
          }),
      ),
    )
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
        onNone: () => embedded(EmbeddedStart.embeddedDirectory(config.dataDir)),
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
