import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMain } from "../support/GatewayProcess.js"
import { TEST_SECRET_KEY } from "../support/TestConfig.js"

/** `.env` through the real entry point: read before any setting, the real environment winning. */
describe(".env at start", () => {
  let dir: string
  let envFile: string
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-dotenv-"))
    envFile = path.join(dir, ".env")
    fs.writeFileSync(envFile, "# settings\nDOTENV_PROVIDER_KEY=sk-from-dotenv\nMODELS_CACHE_TTL=-5\n")
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("check-config reads a value_env variable from it", async () => {
    const file = path.join(dir, "gateway.yaml")
    fs.writeFileSync(
      file,
      "providers:\n  - id: mock\n    base_url: http://127.0.0.1:9\n    keys: [{ value_env: DOTENV_PROVIDER_KEY }]\n",
    )
    const withFile = await runMain({ ENV_FILE: envFile }, { args: ["check-config", file] })
    expect(withFile.stderr).toBe("")
    expect(withFile.code).toBe(0)
    expect(withFile.stdout).toContain("valid — 1 provider(s) with 1 key(s)")
    const without = await runMain({}, { args: ["check-config", file] })
    expect(without.code).not.toBe(0)
    expect(without.stderr).toContain("environment variable DOTENV_PROVIDER_KEY is not set")
  }, 90_000)

  it("a bad value in it stops start-up naming the variable; the same variable set in the environment wins", async () => {
    const fromFile = await runMain({ ENV_FILE: envFile, DATA_DIR: dir, SECRET_KEY: TEST_SECRET_KEY })
    expect(fromFile.code).not.toBe(0)
    expect(fromFile.stderr).toMatch(/MODELS_CACHE_TTL/)
    // The environment's MODELS_CACHE_TTL wins; a bad LOG_TIMEZONE (environment only) makes the start stop early.
    const environmentWins = await runMain({
      ENV_FILE: envFile,
      DATA_DIR: dir,
      SECRET_KEY: TEST_SECRET_KEY,
      MODELS_CACHE_TTL: "300",
      LOG_TIMEZONE: "Mars/Olympus",
    })
    expect(environmentWins.code).not.toBe(0)
    expect(environmentWins.stderr).toMatch(/LOG_TIMEZONE/)
    expect(environmentWins.stderr).not.toMatch(/MODELS_CACHE_TTL/)
  }, 90_000)

  it("ENV_FILE naming a file that is not there stops start-up naming it", async () => {
    const run = await runMain({ ENV_FILE: path.join(dir, "missing.env") }, { args: ["check-config", envFile] })
    expect(run.code).not.toBe(0)
    expect(run.stderr.trim()).toBe(
      `apiproxy: check-config: ENV_FILE: cannot read ${path.join(dir, "missing.env")} (ENOENT)`,
    )
  })
})
