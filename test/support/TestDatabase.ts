import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { type Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import * as Database from "../../src/storage/Database.js"
import { closeAfterEachFile } from "./FileTeardown.js"
import { tempDir } from "./TestConfig.js"

type Sql = PgClient.PgClient | SqlClient.SqlClient

const migrationsDir = fileURLToPath(new URL("../../migrations/", import.meta.url))

/**
 * Key of the migrated PGlite template: changes whenever a migration file or PGlite changes,
 * so an edited migration never runs against a stale template.
 */
const templateKey = () => {
  const hash = createHash("sha256")
  const pglitePackage = new URL("../../node_modules/@electric-sql/pglite/package.json", import.meta.url)
  if (fs.existsSync(pglitePackage)) hash.update(fs.readFileSync(pglitePackage))
  for (const file of fs.readdirSync(migrationsDir).sort()) {
    hash.update(file)
    hash.update(fs.readFileSync(path.join(migrationsDir, file)))
  }
  return hash.digest("hex").slice(0, 16)
}

/**
 * A migrated PGlite data directory, built once per machine and migration set (a PGlite initdb
 * costs seconds; copying its result costs milliseconds). Concurrent builders race harmlessly:
 * each builds privately and the first rename wins.
 */
export const pgliteTemplate = Effect.gen(function* () {
  const dir = path.join(os.tmpdir(), `apiproxy-pglite-template-${templateKey()}`)
  if (fs.existsSync(path.join(dir, "READY"))) return dir
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-pglite-staging-"))
  yield* Effect.scoped(
    Effect.gen(function* () {
      const client = yield* Database.embedded(path.join(staging, "pglite"))
      yield* Database.migrate.pipe(
        Effect.provideService(PgClient.PgClient, client),
        Effect.provideService(SqlClient.SqlClient, client),
      )
    }),
  ).pipe(Effect.provide(Reactivity.layer))
  fs.writeFileSync(path.join(staging, "READY"), "")
  try {
    fs.renameSync(staging, dir)
  } catch {
    fs.rmSync(staging, { recursive: true, force: true })
  }
  return dir
})

/**
 * Copies a tree of directories and plain files (a PGlite cluster: about a thousand files). Half
 * the CPU of `fs.cpSync`, which stats source and target and checks their paths for every entry.
 */
const copyTree = (from: string, to: string): void => {
  fs.mkdirSync(to)
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) copyTree(path.join(from, entry.name), path.join(to, entry.name))
    else fs.copyFileSync(path.join(from, entry.name), path.join(to, entry.name))
  }
}

/** Puts a copy of the migrated template into `dataDir/pglite` (where the gateway's embedded database lives). */
export const copyPgliteTemplate = (dataDir: string) =>
  Effect.map(pgliteTemplate, (template) => copyTree(path.join(template, "pglite"), path.join(dataDir, "pglite")))

/** Embedded PGlite (the production code path) in a fresh temp dir, migrated, removed on release. */
export const embeddedTestDatabase: Layer.Layer<Sql> = Layer.unwrapScoped(
  Effect.gen(function* () {
    const dir = yield* tempDir("apiproxy-test-db-")
    yield* copyPgliteTemplate(dir)
    return Database.withMigrations(Database.layerFrom({ embeddedDirectory: path.join(dir, "pglite") }))
  }),
).pipe(Layer.orDie)

const withDatabase = (url: string, database: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** Runs `statement` on a short-lived single connection to the server at `url`. */
const admin = (url: string, statement: (sql: PgClient.PgClient) => Effect.Effect<unknown, unknown>) =>
  Effect.scoped(
    Effect.flatMap(Database.connect(Redacted.make(url), { maxConnections: 1 }), (sql) => Effect.orDie(statement(sql))),
  ).pipe(Effect.provide(Reactivity.layer))

/**
 * A throwaway database `apiproxy_test_<random>` on the Postgres server at `url`, migrated,
 * dropped (WITH FORCE) on release.
 */
export const postgresTestDatabase = (url: string): Layer.Layer<Sql> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const name = `apiproxy_test_${randomBytes(6).toString("hex")}`
      yield* Effect.acquireRelease(
        admin(url, (sql) => sql`CREATE DATABASE ${sql(name)}`),
        () => Effect.orDie(admin(url, (sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`)),
      )
      return Database.withMigrations(Database.layerFrom({ url: Redacted.make(withDatabase(url, name)) }))
    }),
  ).pipe(Layer.orDie)

/**
 * `PgClient` + `SqlClient`, migrated, of a database of its own: a fresh database on the server at
 * `DATABASE_URL` when set, embedded PGlite in a temp dir otherwise. Each build is independent and
 * costs seconds (a PGlite process, or CREATE DATABASE and the migrations): for tests that change
 * the schema. Others use `TestDatabase`.
 */
export const FreshTestDatabase: Layer.Layer<Sql> = Layer.unwrapEffect(
  Effect.sync(() => {
    const url = process.env.DATABASE_URL
    return url !== undefined && url.trim() !== "" ? postgresTestDatabase(url) : embeddedTestDatabase
  }),
)

/** The test file's database, built on first use, closed by `closeSharedTestDatabase`. */
let shared: Promise<{ readonly context: Context.Context<Sql>; readonly scope: Scope.CloseableScope }> | undefined

const sharedDatabase = Effect.promise(() => {
  shared ??= Effect.runPromise(
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(FreshTestDatabase, scope)
      return { context, scope }
    }),
  )
  return shared
})

/** Closes the test file's database, if one was opened (after each file: test/support/Setup.ts). */
export const closeSharedTestDatabase = async (): Promise<void> => {
  const current = shared
  shared = undefined
  if (current !== undefined) await Effect.runPromise(Scope.close((await current).scope, Exit.void))
}
closeAfterEachFile(closeSharedTestDatabase)

/** Every table but the migrator's emptied, identities restarted: the state right after migrating. */
const emptyTables = (context: Context.Context<Sql>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tables = yield* sql<{ readonly name: string }>`
      SELECT tablename AS name FROM pg_tables
      WHERE schemaname = current_schema() AND tablename <> ${Database.MIGRATIONS_TABLE}`
    if (tables.length > 0) {
      yield* sql.unsafe(`TRUNCATE ${tables.map((t) => `"${t.name}"`).join(", ")} RESTART IDENTITY CASCADE`)
    }
  }).pipe(Effect.provide(context), Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => "timed out" }))

/**
 * `PgClient` + `SqlClient` for tests, migrated and empty: one database per test file (as
 * `FreshTestDatabase` makes it), emptied each time the layer is built, so every test that builds
 * it starts from the freshly migrated state without paying for a new database. A database the
 * previous test left unusable (a test that timed out while PGlite still runs its statement) is
 * replaced by a fresh one, so one failure does not fail the file's next tests.
 *
 *   it.layer(TestDatabase)("UserRepo", (it) => { it.effect("...", () => ...) })
 */
export const TestDatabase: Layer.Layer<Sql> = Layer.effectContext(
  Effect.gen(function* () {
    const { context } = yield* sharedDatabase
    if (Exit.isSuccess(yield* Effect.exit(emptyTables(context)))) return context
    yield* Effect.promise(closeSharedTestDatabase)
    const fresh = yield* sharedDatabase
    yield* Effect.orDie(emptyTables(fresh.context))
    return fresh.context
  }),
)
