#!/usr/bin/env node
import "./HeapTuning.js"
import { dataDirOf, usesEmbeddedDatabase } from "./config/DataDir.js"
import { EnvFileError, type EnvFileOutcome, readEnvFile } from "./config/EnvFile.js"
import * as EmbeddedStart from "./storage/EmbeddedStart.js"

/**
 * The entry point. It imports Node built-ins and these small modules only: `.env` is read, and
 * when the gateway is to serve on the embedded database, that database's process is started now,
 * so it boots on the other core while the gateway's own modules load (`Cli.ts` and everything it
 * imports: about two seconds of CPU). `Database.embedded` adopts it (bench/RESULTS.md, "Start time").
 */

/** `.env` (or ENV_FILE) into the environment before any setting is read; the real environment wins. */
const envFile = ((): EnvFileOutcome | EnvFileError => {
  try {
    return readEnvFile(process.env, process.cwd())
  } catch (error) {
    return error instanceof EnvFileError ? error : new EnvFileError(`ENV_FILE: ${String(error)}`)
  }
})()

if (!(envFile instanceof EnvFileError) && process.argv[2] === undefined && usesEmbeddedDatabase(process.env))
  await EmbeddedStart.prestart(EmbeddedStart.embeddedDirectory(dataDirOf(process.env)))

const { runCli } = await import("./Cli.js")
runCli(envFile)
