import * as fs from "node:fs"
import type * as SqlError from "@effect/sql/SqlError"
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import { AppConfig, describeSecretKeySource, type SecretKeySource } from "../config/AppConfig.js"
import { Secrets } from "../crypto/Secrets.js"
import { describeDatabaseUrl } from "../storage/Database.js"
import { type SealedCount, SealedVersions } from "../storage/SealedVersions.js"

/**
 * Start-up, before anything is written: says where the secret came from (once, never the value)
 * and checks that the database was not sealed under another secret.
 *
 * The trap it closes: without SECRET_KEY each instance keeps its own `${DATA_DIR}/secret.key`;
 * two instances on one shared DATABASE_URL (or a DATA_DIR whose secret file was deleted) then
 * hold different secrets, and every API key and provider key written by the other one fails
 * ("Invalid API key"). Stored rows carry the version (a fingerprint) of the secret that sealed
 * them, so the mismatch is visible before any request:
 *
 * - secret from a file (generated now or earlier) and rows sealed by a secret that is neither
 *   it nor SECRET_KEY_PREVIOUS: start-up stops; a file generated at this start is removed, so
 *   the next start does not adopt it either;
 * - SECRET_KEY set by the operator: a warning names what cannot be read (a rotation done without
 *   SECRET_KEY_PREVIOUS looks the same, and the operator chose this secret).
 */

export class SecretKeyMismatch extends Schema.TaggedError<SecretKeyMismatch>()("SecretKeyMismatch", {
  message: Schema.String,
}) {}

/** `3 API key(s), 1 provider key(s)`: the rows no secret this instance has can read. */
const describeForeign = (foreign: ReadonlyArray<SealedCount>): string => {
  const totals = new Map<string, number>()
  for (const row of foreign) totals.set(row.what, (totals.get(row.what) ?? 0) + row.count)
  return [...totals].map(([what, count]) => `${count} ${what}(s)`).join(", ")
}

/** Rows sealed by a version `known` does not hold. */
export const foreignRows = (
  sealed: ReadonlyArray<SealedCount>,
  known: ReadonlyArray<number>,
): ReadonlyArray<SealedCount> => sealed.filter((row) => row.count > 0 && !known.includes(row.version))

const refusal = (source: Extract<SecretKeySource, { _tag: "File" }>, database: string, foreign: string): string =>
  [
    `SECRET_KEY: not set, and ${source.generated ? `the secret just generated in ${source.file} (now removed again)` : `the secret in ${source.file}`}`,
    `is not the one ${database} was written with: it holds ${foreign} sealed by another secret (another instance's, or this DATA_DIR's before its secret.key was lost).`,
    "Set SECRET_KEY to that secret on every instance (the other instance's DATA_DIR/secret.key, say)",
  ].join(" ")

export const checkSecretKey: Effect.Effect<
  void,
  SecretKeyMismatch | SqlError.SqlError,
  AppConfig | Secrets | SealedVersions
> = Effect.gen(function* () {
  const config = yield* AppConfig
  const secrets = yield* Secrets
  const source = config.secretKeySource
  yield* Effect.logInfo(describeSecretKeySource(source))
  const foreign = foreignRows(yield* (yield* SealedVersions).counts, secrets.versions)
  if (foreign.length === 0) return
  const database = Option.match(config.databaseUrl, {
    onNone: () => `the embedded database in ${config.dataDir}`,
    onSome: (url) => `the database at ${describeDatabaseUrl(Redacted.value(url))}`,
  })
  if (source._tag === "Env") {
    return yield* Effect.logWarning(
      `SECRET_KEY: ${database} holds ${describeForeign(foreign)} sealed by a secret that is neither SECRET_KEY nor SECRET_KEY_PREVIOUS; they cannot be used (set SECRET_KEY_PREVIOUS to that secret, or re-enter them)`,
    )
  }
  if (source.generated) yield* Effect.sync(() => fs.rmSync(source.file, { force: true }))
  return yield* new SecretKeyMismatch({ message: refusal(source, database, describeForeign(foreign)) })
}).pipe(Effect.withSpan("SecretKeyCheck"))

/** `checkSecretKey` as a layer: built before the first admin and the providers file write anything. */
export const layer = Layer.effectDiscard(checkSecretKey).pipe(Layer.provide(SealedVersions.Default))
