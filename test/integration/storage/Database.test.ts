import * as fs from "node:fs"
import * as path from "node:path"
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { migrations } from "../../../migrations/index.js"
import * as Database from "../../../src/storage/Database.js"
import { tempDir, testConfigLayer } from "../../support/TestConfig.js"
import { embeddedTestDatabase, postgresTestDatabase } from "../../support/TestDatabase.js"

const INIT_TABLES = [
  "api_key_allowed_providers",
  "api_keys",
  "logical_model_upstreams",
  "logical_models",
  "provider_api_keys",
  "provider_models",
  "providers",
  "users",
]

const publicTables = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
    ORDER BY table_name`.pipe(Effect.map((rows) => rows.map((row) => row.table_name))),
)

const appliedMigrations = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql<{ migration_id: number; name: string }>`
    SELECT migration_id, name FROM ${sql(Database.MIGRATIONS_TABLE)} ORDER BY migration_id`,
)

const migrationSuite = (name: string, layer: Layer.Layer<SqlClient.SqlClient | PgClient.PgClient>) =>
  it.layer(layer, { timeout: 120_000 })(`Database migrations: ${name}`, (it) => {
    it.effect("create every table of the first migration and record each migration once", () =>
      Effect.gen(function* () {
        expect(yield* publicTables).toEqual(expect.arrayContaining([...INIT_TABLES, Database.MIGRATIONS_TABLE]))
        const applied = yield* appliedMigrations
        expect(applied.map((row) => `${String(row.migration_id).padStart(4, "0")}_${row.name}`)).toEqual(
          Object.keys(migrations).sort(),
        )
      }),
    )

    it.effect("re-running the migrations is a no-op", () =>
      Effect.gen(function* () {
        const before = yield* appliedMigrations
        expect(yield* Database.migrate).toEqual([])
        expect(yield* appliedMigrations).toEqual(before)
      }),
    )

    it.effect("the schema works: defaults, constraints and ping", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* Database.ping
        const [user] = yield* sql<{ id: string; is_active: boolean }>`
          INSERT INTO users (username, email, hashed_password) VALUES ('alice', 'alice@example.com', 'x')
          RETURNING id, is_active`
        expect(user!.id).toMatch(/^[0-9a-f-]{36}$/)
        expect(user!.is_active).toBe(true)
        const duplicate = yield* Effect.either(
          sql`INSERT INTO users (username, email, hashed_password) VALUES ('alice', 'other@example.com', 'x')`,
        )
        expect(duplicate._tag).toBe("Left")
      }),
    )

    it.effect("concurrent queries and a transaction share the pool (one session when embedded)", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const transaction = sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`INSERT INTO logical_models (logical_id) VALUES ('tx-model')`
            const rows = yield* sql<{
              n: number
            }>`SELECT count(*)::int AS n FROM logical_models WHERE logical_id = 'tx-model'`
            return rows[0]!.n
          }),
        )
        const [results, inTx] = yield* Effect.all(
          [
            Effect.forEach(
              Array.from({ length: 40 }, (_, i) => i),
              (i) => sql<{ v: number }>`SELECT ${i}::int AS v`,
              {
                concurrency: "unbounded",
              },
            ),
            transaction,
          ],
          { concurrency: "unbounded" },
        )
        expect(results.map((rows) => rows[0]!.v)).toEqual(Array.from({ length: 40 }, (_, i) => i))
        expect(inTx).toBe(1)
        const rolledBack = yield* Effect.either(
          sql.withTransaction(
            Effect.zipRight(sql`INSERT INTO logical_models (logical_id) VALUES ('rolled-back')`, Effect.fail("boom")),
          ),
        )
        expect(rolledBack._tag).toBe("Left")
        expect(yield* sql`SELECT 1 FROM logical_models WHERE logical_id = 'rolled-back'`).toEqual([])
      }),
    )
  })

migrationSuite("embedded PGlite", embeddedTestDatabase)

const databaseUrl = process.env.DATABASE_URL
if (databaseUrl !== undefined && databaseUrl !== "") {
  migrationSuite("Postgres", postgresTestDatabase(databaseUrl))

  describe("TestDatabase on Postgres", () => {
    it.live("creates apiproxy_test_<random> and drops it on release", () =>
      Effect.gen(function* () {
        const currentDatabase = Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql<{ name: string }>`SELECT current_database() AS name`.pipe(Effect.map((rows) => rows[0]!.name)),
        )
        const name = yield* currentDatabase.pipe(Effect.provide(postgresTestDatabase(databaseUrl)))
        expect(name).toMatch(/^apiproxy_test_[0-9a-f]+$/)
        const remaining = yield* Effect.scoped(
          Effect.flatMap(
            Database.connect(Redacted.make(databaseUrl), { maxConnections: 1 }),
            (sql) => sql`SELECT datname FROM pg_database WHERE datname = ${name}`,
          ),
        ).pipe(Effect.provide(Reactivity.layer))
        expect(remaining).toEqual([])
      }),
    )
  })
}

describe("Database.layer (embedded, from AppConfig)", () => {
  it.live(
    "creates DATA_DIR/pglite, and a second start on the same dir keeps data without re-running migrations",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir("apiproxy-db-persist-")
        const dataDir = path.join(root, "nested", "data")
        const app = Database.layer.pipe(Layer.provide(testConfigLayer({ DATABASE_URL: undefined, DATA_DIR: dataDir })))

        const first = yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`INSERT INTO users (username, email, hashed_password) VALUES ('persisted', 'p@example.com', 'x')`
          return yield* sql<{ migration_id: number; created_at: Date }>`
            SELECT migration_id, created_at FROM ${sql(Database.MIGRATIONS_TABLE)}`
        }).pipe(Effect.provide(app))
        expect(fs.existsSync(path.join(dataDir, "pglite", "PG_VERSION"))).toBe(true)

        const second = yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const users = yield* sql<{ username: string }>`SELECT username FROM users`
          expect(users.map((u) => u.username)).toEqual(["persisted"])
          expect(yield* Database.migrate).toEqual([])
          return yield* sql<{ migration_id: number; created_at: Date }>`
            SELECT migration_id, created_at FROM ${sql(Database.MIGRATIONS_TABLE)}`
        }).pipe(Effect.provide(app))
        // Same rows, same timestamps: the second start applied nothing.
        expect(second).toEqual(first)
      }).pipe(Effect.scoped),
    120_000,
  )

  it.live(
    "a data directory already open is refused with a clear error",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir("apiproxy-db-lock-")
        const app = Database.layerFrom({ embeddedDirectory: path.join(root, "pglite") })
        yield* Layer.build(app)
        const error = yield* Effect.flip(Effect.scoped(Layer.build(app.pipe(Layer.fresh))))
        expect(error.message).toContain("is locked")
      }).pipe(Effect.scoped),
    60_000,
  )

  it.live("a bad DATABASE_URL fails start-up with host:port and the reason, never the password", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.scoped(
          Layer.build(
            Database.layer.pipe(
              Layer.provide(testConfigLayer({ DATABASE_URL: "postgres://postgres:hunter2secret@127.0.0.1:1/nope" })),
            ),
          ),
        ),
      )
      expect(error._tag).toBe("DatabaseError")
      expect(error.message).toContain("DATABASE_URL: could not connect to postgres at 127.0.0.1:1/nope:")
      expect(error.message).toContain("ECONNREFUSED")
      expect(error.message).not.toContain("hunter2secret")
    }),
  )
})
