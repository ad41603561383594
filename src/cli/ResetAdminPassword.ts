import { Clock, Effect, Layer, Option, Redacted, Schema } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { credentialsText, writeCredentialsFile } from "../identity/AdminCredentialsFile.js"
import { generatePassword, hashPassword } from "../identity/Passwords.js"
import * as Database from "../storage/Database.js"
import { UserRepository } from "../storage/UserRepository.js"

export class ResetRefused extends Schema.TaggedError<ResetRefused>()("ResetRefused", { message: Schema.String }) {}

/**
 * `apiproxy reset-admin-password [username]` (default `admin`): for an operator who holds the data
 * directory and the database but lost the superuser's password. Sets a new generated password,
 * reactivates the account, ends its login sessions, and writes the password to
 * `${DATA_DIR}/admin-credentials.txt` (mode 0600) — standard output only names the file.
 * Only a superuser's password is reset this way; the embedded database must not be in use by a
 * running gateway (stop it first).
 */
export const resetAdminPassword = (username: string) =>
  Effect.gen(function* () {
    const users = yield* UserRepository
    const found = yield* users.findByLogin(username)
    if (Option.isNone(found) || found.value.username !== username) {
      return yield* new ResetRefused({ message: `no user named '${username.slice(0, 64)}'` })
    }
    if (!found.value.isSuperuser)
      return yield* new ResetRefused({
        message: `'${username}' is not a superuser; a superuser can reset its password over the API`,
      })
    const password = generatePassword()
    yield* users.update(found.value.id, {
      hashedPassword: yield* hashPassword(password),
      isActive: true,
      bumpTokenGeneration: true,
    })
    const now = yield* Clock.currentTimeMillis
    const file = yield* writeCredentialsFile(
      (yield* AppConfig).dataDir,
      credentialsText({ username, email: found.value.email, password: Redacted.make(password) }, new Date(now)),
    )
    yield* Effect.sync(() =>
      process.stdout.write(
        `The password of '${username}' was reset; its login sessions ended. The new password is in\n  ${file}\n(mode 0600; shown nowhere else). API keys are unchanged.\n`,
      ),
    )
  })

/** What the command needs: the database (migrated) and the configuration — not the server. */
export const ResetAdminPasswordLive = UserRepository.Default.pipe(
  Layer.provideMerge(Database.layer),
  Layer.provideMerge(AppConfig.Default),
)
