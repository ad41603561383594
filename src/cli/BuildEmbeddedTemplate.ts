/**
 * `node dist/src/cli/BuildEmbeddedTemplate.js [file]`, run by `npm run build`: initialises an
 * embedded database in a temporary directory (PGlite initdb), applies every migration, stops it,
 * and packs it as the template a first start unpacks (`storage/EmbeddedTemplate`). Written to a
 * temporary name and renamed, so a reader never sees half a template.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect } from "effect"
import * as Database from "../storage/Database.js"
import * as EmbeddedTemplate from "../storage/EmbeddedTemplate.js"

export const buildTemplate = (file: string) =>
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

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? EmbeddedTemplate.TEMPLATE_FILE
  buildTemplate(file).pipe(
    Effect.tap((bytes) => Effect.sync(() => process.stdout.write(`embedded database template: ${file} (${Math.round(bytes / 1024)} KiB)\n`))),
    NodeRuntime.runMain({ disablePrettyLogger: true }),
  )
}
