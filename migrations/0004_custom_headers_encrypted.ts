import { SqlClient } from "@effect/sql"
import { Effect, Redacted } from "effect"
import { AppConfig } from "../src/config/AppConfig.js"
import { makeSecrets } from "../src/crypto/Secrets.js"

/**
 * A provider's custom headers are encrypted at rest like its keys (issue 11, item 9): their
 * values may be credentials (`X-Trace: sk-…`). The whole map is one AES-GCM ciphertext under the
 * current SECRET_KEY (`custom_headers_encrypted`, `custom_headers_version`); existing rows are
 * converted here and the plaintext column is dropped. The secret is read only when there is a
 * row to convert.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE providers ADD COLUMN custom_headers_encrypted bytea, ADD COLUMN custom_headers_version integer`
  const rows = yield* sql<{ id: string; headers: unknown }>`
    SELECT id, custom_headers AS headers FROM providers WHERE custom_headers IS NOT NULL AND custom_headers <> '{}'::jsonb`
  if (rows.length > 0) {
    // The application's configuration when the caller has it (tests, tools), else read as the app does.
    const given = yield* Effect.serviceOption(AppConfig)
    const config = given._tag === "Some" ? given.value : yield* Effect.provide(AppConfig, AppConfig.Default)
    const secrets = makeSecrets({
      secretKey: config.secretKey,
      previousSecretKey: config.secretKeyPrevious._tag === "Some" ? config.secretKeyPrevious.value : undefined,
    })
    for (const row of rows) {
      const headers = typeof row.headers === "string" ? (JSON.parse(row.headers) as unknown) : row.headers
      const { ciphertext, version } = secrets.encrypt(Redacted.make(JSON.stringify(headers)))
      yield* sql`
        UPDATE providers SET custom_headers_encrypted = ${Buffer.from(ciphertext)}, custom_headers_version = ${version}
        WHERE id = ${row.id}`
    }
  }
  yield* sql`ALTER TABLE providers DROP COLUMN custom_headers`
})
