import * as SqlClient from "@effect/sql/SqlClient"
import { Config, Effect, Redacted } from "effect"
import { generatePassword, hashPassword } from "./Passwords.js"
import { newApiToken, Secrets } from "../crypto/Secrets.js"

export interface BootstrapCredentials {
  readonly username: string
  readonly email: string
  readonly password: Redacted.Redacted<string>
  readonly apiKey: Redacted.Redacted<string>
  readonly userId: string
}

/** Arbitrary constant: serialises concurrent bootstraps (several instances starting at once). */
const BOOTSTRAP_LOCK = 7_140_001

/**
 * Creates the first superuser with a generated password and a never-expiring API key, but only
 * while the users table is empty. Race-safe: runs in one transaction under an advisory lock, so
 * of several concurrent callers exactly one creates the account. Returns the credentials once;
 * nothing is logged here.
 */
export const createFirstSuperuser = (input: { readonly username: string; readonly email: string; readonly displayName?: string }) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const secrets = yield* Secrets
    const password = generatePassword()
    const hashed = yield* hashPassword(password)
    const token = newApiToken()
    const { hash, version } = secrets.hashApiKey(token)
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`
        const [{ count }] = yield* sql<{ count: number | string }>`SELECT count(*) AS count FROM users`
        if (Number(count) > 0) return undefined
        const [user] = yield* sql<{ id: string }>`
          INSERT INTO users (username, email, display_name, hashed_password, is_superuser)
          VALUES (${input.username}, ${input.email}, ${input.displayName ?? "System Administrator"}, ${hashed}, true)
          RETURNING id`
        yield* sql`
          INSERT INTO api_keys (user_id, name, key_hash, key_version, key_prefix, expiry_type)
          VALUES (${user!.id}, 'admin-default', ${hash}, ${version}, ${token.slice(0, 12)}, 'never')`
        return {
          username: input.username,
          email: input.email,
          password: Redacted.make(password),
          apiKey: Redacted.make(token),
          userId: user!.id,
        } satisfies BootstrapCredentials
      }),
    )
  })

/**
 * First start with an empty database: create `admin` and print its credentials once to
 * standard output — never through the logger, so they reach no log file.
 */
export const bootstrapAdmin = Effect.gen(function* () {
  // BOOTSTRAP_ADMIN=false leaves the first superuser to `POST /system/admin/init`.
  const enabled = yield* Config.boolean("BOOTSTRAP_ADMIN").pipe(Config.withDefault(true))
  if (!enabled) return
  const created = yield* createFirstSuperuser({ username: "admin", email: "admin@example.com" })
  if (created === undefined) return
  process.stdout.write(
    [
      "",
      "==================== APIProxy: first start ====================",
      "A superuser was created. These credentials are shown only once:",
      `  username: ${created.username}`,
      `  password: ${Redacted.value(created.password)}`,
      `  API key:  ${Redacted.value(created.apiKey)}`,
      "Use the API key as `Authorization: Bearer <key>`.",
      "===============================================================",
      "",
    ].join("\n") + "\n",
  )
})
