import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { describeEnvFile, EnvFileError, readEnvFile } from "../../../src/config/EnvFile.js"

describe("readEnvFile", () => {
  let dir: string
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-envfile-"))
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("reads .env of the working directory; a variable the environment sets wins", () => {
    fs.writeFileSync(
      path.join(dir, ".env"),
      '# comment\nPORT=9000\nLOG_LEVEL=DEBUG\nMASK_ORIGIN="https://example.test"\nexport KV_PREFIX=team:\n',
    )
    const env: NodeJS.ProcessEnv = { LOG_LEVEL: "ERROR" }
    const outcome = readEnvFile(env, dir)
    expect(env).toEqual({ PORT: "9000", LOG_LEVEL: "ERROR", MASK_ORIGIN: "https://example.test", KV_PREFIX: "team:" })
    expect(outcome).toEqual({ _tag: "Read", file: path.join(dir, ".env"), applied: 3, overridden: 1 })
    expect(describeEnvFile(outcome)).toBe(
      `settings: read ${path.join(dir, ".env")} (3 variable(s) applied, 1 already set in the environment, which wins)`,
    )
  })

  it("an empty value in the environment still wins (it is set)", () => {
    fs.writeFileSync(path.join(dir, ".env"), "GATEWAY_MASTER_KEY=from-file\n")
    const env: NodeJS.ProcessEnv = { GATEWAY_MASTER_KEY: "" }
    readEnvFile(env, dir)
    expect(env.GATEWAY_MASTER_KEY).toBe("")
  })

  it("no .env: nothing read, nothing changed", () => {
    const env: NodeJS.ProcessEnv = { PORT: "1" }
    expect(readEnvFile(env, dir)).toEqual({ _tag: "Absent", file: path.join(dir, ".env") })
    expect(env).toEqual({ PORT: "1" })
  })

  it("ENV_FILE names another file, relative to the working directory", () => {
    fs.mkdirSync(path.join(dir, "conf"))
    fs.writeFileSync(path.join(dir, "conf", "gateway.env"), "PORT=9001\n")
    fs.writeFileSync(path.join(dir, ".env"), "PORT=9000\n")
    const env: NodeJS.ProcessEnv = { ENV_FILE: "conf/gateway.env" }
    expect(readEnvFile(env, dir)).toMatchObject({ _tag: "Read", file: path.join(dir, "conf", "gateway.env") })
    expect(env.PORT).toBe("9001")
  })

  it("ENV_FILE empty: no file is read", () => {
    fs.writeFileSync(path.join(dir, ".env"), "PORT=9000\n")
    const env: NodeJS.ProcessEnv = { ENV_FILE: "" }
    expect(readEnvFile(env, dir)).toEqual({ _tag: "Off" })
    expect(env.PORT).toBeUndefined()
  })

  it("ENV_FILE naming a missing file (or a directory) stops start-up, naming it", () => {
    expect(() => readEnvFile({ ENV_FILE: "missing.env" }, dir)).toThrow(EnvFileError)
    expect(() => readEnvFile({ ENV_FILE: "missing.env" }, dir)).toThrow(
      `ENV_FILE: cannot read ${path.join(dir, "missing.env")} (ENOENT)`,
    )
    expect(() => readEnvFile({ ENV_FILE: "." }, dir)).toThrow(/ENV_FILE: cannot read .* \(EISDIR\)/)
  })
})
