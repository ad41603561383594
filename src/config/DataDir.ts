/**
 * `DATA_DIR` and whether the embedded database is used, read straight from the environment as
 * `AppConfig` reads them: for `main.ts`, which starts the embedded database's process before
 * `AppConfig` (and the rest of the gateway) loads.
 */

/** Where the gateway keeps its files when `DATA_DIR` is unset. */
export const DEFAULT_DATA_DIR = "./data"

/** `DATABASE_URL` unset or blank means the embedded database (`AppConfig.databaseUrl`). */
export const usesEmbeddedDatabase = (env: NodeJS.ProcessEnv): boolean => (env.DATABASE_URL ?? "").trim() === ""

export const dataDirOf = (env: NodeJS.ProcessEnv): string => env.DATA_DIR ?? DEFAULT_DATA_DIR
