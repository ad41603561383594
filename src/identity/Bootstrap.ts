import { Config, Effect, Option, Redacted } from "effect"
import { UserRepository } from "../storage/UserRepository.js"
import { generatePassword, hashPassword } from "./Passwords.js"
import { newApiToken, Secrets } from "../crypto/Secrets.js"

export interface BootstrapCredentials {
  readonly username: string
  readonly email: string
  readonly password: Redacted.Redacted<string>
  readonly apiKey: Redacted.Redacted<string>
  readonly userId: string
}

/**
 * Creates the first superuser with a generated password and a never-expiring API key, but only
 * while the users table is empty. Race-safe (`UserRepository.insertFirstSuperuser`): of several
 * concurrent callers exactly one creates the account. Returns the credentials once;
 * nothing is logged here.
 */
export const createFirstSuperuser = (input: { readonly username: string; readonly email: string; readonly displayName?: string }) =>
  Effect.gen(function* () {
    const users = yield* UserRepository
    const secrets = yield* Secrets
    const password = generatePassword()
    const hashed = yield* hashPassword(password)
    const token = newApiToken()
    const { hash, version } = secrets.hashApiKey(token)
    const userId = yield* users.insertFirstSuperuser({
      username: input.username,
      email: input.email,
      displayName: input.displayName ?? "System Administrator",
      hashedPassword: hashed,
      apiKey: { hash, version, prefix: token.slice(0, 12) },
    })
    if (Option.isNone(userId)) return undefined
    return {
      username: input.username,
      email: input.email,
      password: Redacted.make(password),
      apiKey: Redacted.make(token),
      userId: userId.value,
    } satisfies BootstrapCredentials
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
