import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect } from "effect"
import * as Database from "./Database.js"
import * as EmbeddedTemplate from "./EmbeddedTemplate.js"

/**
 * Makes the embedded database template (`EmbeddedTemplate`) at `file`: initialises a database in
 * a temporary directory (PGlite initdb), applies every migration, stops it, and packs it. Written
 * to a temporary name and renamed, so a reader never sees half a template. Returns its size.
 */
export const buildTemplate = (file: string): Effect.Effect<number, Database.DatabaseError> =>
  Effect.acquireUseRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-template-"))),
    (staging) =>
      Effect.gen(function* () {
        const directory = path.join(staging, "pglite")
        yield* Effect.scoped(
          Effect.flatMap(Database.embedded(directory, { template: false }), (client) =>
            Database.migrate.pipe(
              Effect.provideService(PgClient.PgClient, client),
              Effect.provideService(SqlClient.SqlClient, client),
            ),
          ),
        ).pipe(Effect.provide(Reactivity.layer))
        const archive = EmbeddedTemplate.pack(directory, EmbeddedTemplate.currentKey())
        const partial = `${file}.${process.pid}.partial`
        fs.writeFileSync(partial, archive)
        fs.renameSync(partial, file)
        return archive.length
      }),
    (staging) => Effect.sync(() => fs.rmSync(staging, { recursive: true, force: true })),
  )
