import * as fs from "node:fs"
import * as path from "node:path"
import { gzipSync } from "node:zlib"
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import * as Database from "../../../src/storage/Database.js"
import * as EmbeddedTemplate from "../../../src/storage/EmbeddedTemplate.js"
import { tempDir } from "../../support/TestConfig.js"
import { pgliteTemplate } from "../../support/TestDatabase.js"

/** A directory shaped like a cluster: files, an empty directory, a private file, our lock. */
const fakeCluster = (root: string) => {
  fs.mkdirSync(path.join(root, "base", "1"), { recursive: true })
  fs.mkdirSync(path.join(root, "pg_tblspc"))
  fs.writeFileSync(path.join(root, "PG_VERSION"), "17\n")
  fs.writeFileSync(path.join(root, "base", "1", "1259"), Buffer.from([0, 1, 2, 255]))
  fs.writeFileSync(path.join(root, "postgresql.auto.conf"), "# auto\n", { mode: 0o600 })
  fs.writeFileSync(path.join(root, "apiproxy.lock"), "12345")
}

const listTree = (root: string): ReadonlyArray<string> =>
  fs
    .readdirSync(root, { recursive: true, encoding: "utf8" })
    .map((p) => p.split(path.sep).join("/"))
    .sort()

/** An archive in the template format with the given entries, for inputs `pack` never writes. */
const craft = (
  key: EmbeddedTemplate.TemplateKey,
  entries: ReadonlyArray<{ type: string; path: string; data?: string }>,
) => {
  const chunks = [Buffer.from(`apiproxy-pgdata-template 1\n${key.pglite}\n${key.migrations.join(",")}\n`)]
  for (const entry of entries) {
    const name = Buffer.from(entry.path)
    const data = Buffer.from(entry.data ?? "")
    const header = Buffer.alloc(11 + name.length)
    header.write(entry.type, 0, "latin1")
    header.writeUInt16BE(name.length, 1)
    name.copy(header, 3)
    header.writeUInt32BE(0o600, 3 + name.length)
    header.writeUInt32BE(data.length, 7 + name.length)
    chunks.push(header, data)
  }
  return gzipSync(Buffer.concat(chunks))
}

const KEY: EmbeddedTemplate.TemplateKey = { pglite: "0.5.14", migrations: ["0001_init", "0002_usage"] }

describe("EmbeddedTemplate archive", () => {
  it.scoped("pack then restore gives back every file, empty directory and mode, without the lock", () =>
    Effect.gen(function* () {
      const source = yield* tempDir("apiproxy-tpl-src-")
      const target = yield* tempDir("apiproxy-tpl-dst-")
      fakeCluster(source)
      const file = path.join(target, "..", `${path.basename(target)}.template`)
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(file, { force: true })))
      fs.writeFileSync(file, EmbeddedTemplate.pack(source, EmbeddedTemplate.currentKey()))

      expect(EmbeddedTemplate.restoreInto(target, file)).toBe("restored")
      expect(listTree(target)).toEqual([
        "PG_VERSION",
        "base",
        "base/1",
        "base/1/1259",
        "pg_tblspc",
        "postgresql.auto.conf",
      ])
      expect([...fs.readFileSync(path.join(target, "base", "1", "1259"))]).toEqual([0, 1, 2, 255])
      expect(fs.statSync(path.join(target, "postgresql.auto.conf")).mode & 0o777).toBe(0o600)
      // A directory holding a cluster is never overwritten.
      fs.writeFileSync(path.join(target, "base", "1", "1259"), "changed")
      expect(EmbeddedTemplate.restoreInto(target, file)).toBe("existing cluster")
      expect(fs.readFileSync(path.join(target, "base", "1", "1259"), "utf8")).toBe("changed")
    }),
  )

  it.scoped("a directory that is not a cluster is not packed", () =>
    Effect.gen(function* () {
      const source = yield* tempDir("apiproxy-tpl-empty-")
      fs.writeFileSync(path.join(source, "something"), "x")
      expect(() => EmbeddedTemplate.pack(source, KEY)).toThrow(/PG_VERSION missing/)
    }),
  )

  it("is used only with the same PGlite and when its migrations are the first of this build's", () => {
    const archive = craft(KEY, [{ type: "f", path: "PG_VERSION", data: "17\n" }])
    expect(EmbeddedTemplate.unpack(archive, KEY)?.map((e) => e.path)).toEqual(["PG_VERSION"])
    expect(EmbeddedTemplate.unpack(archive, { ...KEY, migrations: [...KEY.migrations, "0003_more"] })).toBeDefined()
    expect(EmbeddedTemplate.unpack(archive, { ...KEY, pglite: "0.6.0" })).toBeUndefined()
    expect(EmbeddedTemplate.unpack(archive, { ...KEY, migrations: ["0001_init"] })).toBeUndefined()
    expect(EmbeddedTemplate.unpack(archive, { ...KEY, migrations: ["0001_init", "0002_other"] })).toBeUndefined()
  })

  it.scoped("a missing template, a stale one, and one from another build are told apart", () =>
    Effect.gen(function* () {
      const target = yield* tempDir("apiproxy-tpl-stale-")
      const stale = path.join(target, "stale.template")
      fs.writeFileSync(stale, craft({ pglite: "0.0.1", migrations: [] }, [{ type: "f", path: "PG_VERSION" }]))
      expect(EmbeddedTemplate.restoreInto(target, path.join(target, "none.template"))).toBe("no template")
      expect(EmbeddedTemplate.restoreInto(target, stale)).toBe("stale template")
      expect(listTree(target)).toEqual(["stale.template"])
    }),
  )

  it.scoped("hostile or damaged archives are refused before anything is written", () =>
    Effect.gen(function* () {
      const target = yield* tempDir("apiproxy-tpl-hostile-")
      const current = EmbeddedTemplate.currentKey()
      const good = craft(current, [
        { type: "d", path: "base" },
        { type: "f", path: "base/1", data: "x".repeat(100) },
        { type: "f", path: "PG_VERSION", data: "17\n" },
      ])
      const raw = (archive: Buffer) => Buffer.from(archive)
      const cases: ReadonlyArray<readonly [Buffer, RegExp]> = [
        [
          craft(current, [
            { type: "f", path: "../escape" },
            { type: "f", path: "PG_VERSION" },
          ]),
          /invalid/,
        ],
        [
          craft(current, [
            { type: "f", path: "/etc/passwd" },
            { type: "f", path: "PG_VERSION" },
          ]),
          /invalid/,
        ],
        [
          craft(current, [
            { type: "l", path: "link" },
            { type: "f", path: "PG_VERSION" },
          ]),
          /invalid/,
        ],
        [craft(current, [{ type: "f", path: "base/1" }]), /cut short/], // no marker: half a template
        [gzipSync(Buffer.from("not a template at all\n")), /not an embedded database template/],
        [raw(good).subarray(0, good.length - 8), /unexpected end|incorrect header|cut short/],
        [
          gzipSync(
            Buffer.concat([
              Buffer.from(`apiproxy-pgdata-template 1\n${current.pglite}\n${current.migrations.join(",")}\nf`),
              Buffer.alloc(2, 0xff),
            ]),
          ),
          /cut short/,
        ],
      ]
      const db = path.join(target, "db")
      fs.mkdirSync(db)
      for (const [archive, error] of cases) {
        const file = path.join(target, "t.template")
        fs.writeFileSync(file, archive)
        expect(() => EmbeddedTemplate.restoreInto(db, file)).toThrow(error)
        expect(listTree(target)).toEqual(["db", "t.template"])
      }
    }),
  )
})

const tableNames = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`.pipe(
    Effect.map((rows) => rows.map((r) => r.table_name)),
  ),
)

/** Opens the embedded database in `directory` with `template`, runs `use`, closes it. */
const withEmbedded = <A, E>(
  directory: string,
  template: string,
  use: Effect.Effect<A, E, SqlClient.SqlClient | PgClient.PgClient>,
) =>
  Effect.scoped(
    Effect.flatMap(Database.embedded(directory, { template }), (client) =>
      use.pipe(Effect.provideService(PgClient.PgClient, client), Effect.provideService(SqlClient.SqlClient, client)),
    ),
  ).pipe(Effect.provide(Reactivity.layer))

describe("Database.embedded on an empty directory", () => {
  it.live(
    "starts from the template: migrated, writable, and the same directory opens again with the data",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir("apiproxy-tpl-db-")
        const migrated = yield* pgliteTemplate
        const template = path.join(root, "db.template")
        fs.writeFileSync(template, EmbeddedTemplate.pack(path.join(migrated, "pglite"), EmbeddedTemplate.currentKey()))
        const directory = path.join(root, "data", "pglite")

        const first = yield* withEmbedded(
          directory,
          template,
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const applied = yield* Database.migrate
            yield* sql`INSERT INTO users (username, email, hashed_password) VALUES ('from-template', 't@example.com', 'x')`
            return { applied, tables: yield* tableNames }
          }),
        )
        expect(first.applied).toEqual([]) // the template holds every migration
        expect(first.tables).toContain("users")
        expect(first.tables).toContain(Database.MIGRATIONS_TABLE)

        const users = yield* withEmbedded(
          directory,
          template,
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ username: string }>`SELECT username FROM users`),
        )
        expect(users.map((u) => u.username)).toEqual(["from-template"])
      }).pipe(Effect.scoped),
    180_000,
  )

  it.live(
    "a damaged template is reported once and PGlite initialises the directory itself",
    () =>
      Effect.gen(function* () {
        const root = yield* tempDir("apiproxy-tpl-broken-")
        const template = path.join(root, "broken.template")
        fs.writeFileSync(template, "this is not gzip")
        const warnings: Array<string> = []
        const logger = Logger.make(({ logLevel, message }) => {
          if (logLevel._tag === "Warning") warnings.push(String(message))
        })
        const applied = yield* withEmbedded(path.join(root, "pglite"), template, Database.migrate).pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        )
        expect(applied.length).toBeGreaterThan(0) // a fresh cluster: every migration ran
        expect(warnings).toHaveLength(1)
        expect(warnings[0]).toContain(`the template ${template} is unusable`)
        expect(warnings[0]).toContain("initialising from scratch")
      }).pipe(Effect.scoped),
    180_000,
  )
})
