import { Clock, Config, Context, Effect, Option, Redacted } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { newApiToken, Secrets } from "../crypto/Secrets.js"
import { UserRepository } from "../storage/UserRepository.js"
import { credentialsText, writeCredentialsFile } from "./AdminCredentialsFile.js"
import { generatePassword, hashPassword } from "./Passwords.js"

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
export const createFirstSuperuser = (input: {
  readonly username: string
  readonly email: string
  readonly displayName?: string
}) =>
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

/** What the first start did about the first superuser, for the announcement once the server listens. */
export type FirstStartOutcome =
  | { readonly _tag: "NotCreated" }
  /** Created; its credentials are in `file` (mode 0600) and nowhere else. */
  | { readonly _tag: "Written"; readonly username: string; readonly file: string }
  /** Created, but DATA_DIR could not take the file: the credentials are printed, once. */
  | { readonly _tag: "Unwritten"; readonly credentials: BootstrapCredentials; readonly reason: string }

const NOT_CREATED: FirstStartOutcome = { _tag: "NotCreated" }

/** The first start's outcome (a layer of `App.ts`), announced after the server listens. */
export class FirstStart extends Context.Tag("gateway/identity/FirstStart")<FirstStart, FirstStartOutcome>() {}

/**
 * First start with an empty database: create `admin` and keep its credentials in
 * `${DATA_DIR}/admin-credentials.txt` (mode 0600) — never through the logger, so they reach no
 * log; `announceFirstStart` says where, once the server listens.
 */
export const bootstrapAdmin = Effect.gen(function* () {
  // BOOTSTRAP_ADMIN=false leaves the first superuser to `POST /system/admin/init`.
  const enabled = yield* Config.boolean("BOOTSTRAP_ADMIN").pipe(Config.withDefault(true))
  if (!enabled) return NOT_CREATED
  const created = yield* createFirstSuperuser({ username: "admin", email: "admin@example.com" })
  if (created === undefined) return NOT_CREATED
  const dataDir = (yield* AppConfig).dataDir
  const now = yield* Clock.currentTimeMillis
  return yield* writeCredentialsFile(dataDir, credentialsText(created, new Date(now))).pipe(
    Effect.map((file): FirstStartOutcome => ({ _tag: "Written", username: created.username, file })),
    Effect.catchTag("CredentialsFileError", (error) =>
      Effect.succeed<FirstStartOutcome>({ _tag: "Unwritten", credentials: created, reason: error.message }),
    ),
  )
})

const BANNER = "==================== APIProxy: first start ===================="
const RULE = "==============================================================="

/** The first-start lines for standard output (never the logger): where the credentials are, or them. */
export const firstStartLines = (outcome: FirstStartOutcome): ReadonlyArray<string> => {
  switch (outcome._tag) {
    case "NotCreated":
      return []
    case "Written":
      return [
        BANNER,
        `A superuser '${outcome.username}' was created. Its password and API key are in`,
        `  ${outcome.file}`,
        "(mode 0600; shown nowhere else). Use the API key as `Authorization: Bearer <key>`.",
        "Lost them? Stop the gateway and run `node dist/gateway/main.js reset-admin-password` (`npm run apiproxy -- reset-admin-password` in a checkout).",
        RULE,
      ]
    case "Unwritten":
      return [
        BANNER,
        `${outcome.reason}; the credentials are shown here instead, only once:`,
        `  username: ${outcome.credentials.username}`,
        `  password: ${Redacted.value(outcome.credentials.password)}`,
        `  API key:  ${Redacted.value(outcome.credentials.apiKey)}`,
        "Use the API key as `Authorization: Bearer <key>`.",
        RULE,
      ]
  }
}

/** Prints the first-start lines, once the server listens (a start that fails to listen prints nothing). */
export const announceFirstStart = Effect.flatMap(FirstStart, (outcome) =>
  Effect.sync(() => {
    const lines = firstStartLines(outcome)
    if (lines.length > 0) process.stdout.write(["", ...lines, ""].join("\n") + "\n")
  }),
)
