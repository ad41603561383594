import * as fs from "node:fs"
import * as path from "node:path"
import { parseEnv } from "node:util"

/**
 * The `.env` file, read once by `main.ts` before any setting is: `ENV_FILE` when the real
 * environment sets it (empty: no file), else `.env` in the working directory when there is one.
 * Node's own parser (`util.parseEnv`, the one behind `node --env-file`). A variable the real
 * environment already sets is left as it is: the environment wins over the file.
 */

export type EnvFileOutcome =
  /** `file` was read; `applied` of its variables were not set already. */
  | { readonly _tag: "Read"; readonly file: string; readonly applied: number; readonly overridden: number }
  /** No `.env` in the working directory. */
  | { readonly _tag: "Absent"; readonly file: string }
  /** `ENV_FILE=` (empty): no file is read. */
  | { readonly _tag: "Off" }

/** `ENV_FILE` names a file that cannot be read: start-up stops (a file asked for by name must not be silently skipped). */
export class EnvFileError extends Error {
  readonly _tag = "EnvFileError"
}

/** Read from the real environment only (a `.env` cannot name another one). */
const ENV_FILE = "ENV_FILE"

export const readEnvFile = (env: NodeJS.ProcessEnv, cwd: string): EnvFileOutcome => {
  const named = env[ENV_FILE]
  if (named !== undefined && named.trim() === "") return { _tag: "Off" }
  const file = path.resolve(cwd, named ?? ".env")
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (named === undefined && code === "ENOENT") return { _tag: "Absent", file }
    throw new EnvFileError(`ENV_FILE: cannot read ${file} (${code ?? (error as Error).message})`)
  }
  let applied = 0
  let overridden = 0
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (value === undefined) continue
    if (env[name] !== undefined) overridden++
    else {
      env[name] = value
      applied++
    }
  }
  return { _tag: "Read", file, applied, overridden }
}

/** One line for the start-up log (names and counts, never a value). */
export const describeEnvFile = (outcome: EnvFileOutcome): string => {
  switch (outcome._tag) {
    case "Read":
      return `settings: read ${outcome.file} (${outcome.applied} variable(s) applied, ${outcome.overridden} already set in the environment, which wins)`
    case "Absent":
      return `settings: no ${outcome.file}; the environment only`
    case "Off":
      return "settings: ENV_FILE is empty, no .env read; the environment only"
  }
}
