import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Redacted, Schema } from "effect"
import type { BootstrapCredentials } from "./Bootstrap.js"

/** The file under DATA_DIR that keeps the first superuser's credentials (and a reset's). */
export const ADMIN_CREDENTIALS_FILE = "admin-credentials.txt"

export class CredentialsFileError extends Schema.TaggedError<CredentialsFileError>()("CredentialsFileError", {
  message: Schema.String,
}) {}

/** The file's text: who, the password, the API key when there is one, and when. */
export const credentialsText = (
  credentials: Omit<BootstrapCredentials, "apiKey" | "userId"> & {
    readonly apiKey?: Redacted.Redacted<string> | undefined
  },
  now: Date,
): string =>
  [
    `# APIProxy superuser credentials, written ${now.toISOString()}.`,
    "# Keep this file private (mode 0600); delete it once the password is changed or stored elsewhere.",
    `username: ${credentials.username}`,
    `password: ${Redacted.value(credentials.password)}`,
    ...(credentials.apiKey === undefined ? [] : [`api_key: ${Redacted.value(credentials.apiKey)}`]),
    "",
  ].join("\n")

/**
 * Writes `text` to `${dataDir}/admin-credentials.txt`, readable by the owner only. A file already
 * there (from an earlier database) is replaced: written beside it, then renamed over it, so a
 * reader never sees half a file and the mode is 0600 from the first byte. Returns the path.
 */
export const writeCredentialsFile = (dataDir: string, text: string) =>
  Effect.try({
    try: () => {
      fs.mkdirSync(dataDir, { recursive: true })
      const file = path.resolve(dataDir, ADMIN_CREDENTIALS_FILE)
      const temporary = `${file}.${process.pid}.tmp`
      fs.writeFileSync(temporary, text, { mode: 0o600, flag: "w" })
      fs.chmodSync(temporary, 0o600)
      fs.renameSync(temporary, file)
      return file
    },
    catch: (error) =>
      new CredentialsFileError({
        message: `${path.join(dataDir, ADMIN_CREDENTIALS_FILE)} could not be written: ${error instanceof Error ? error.message : String(error)}`,
      }),
  })
