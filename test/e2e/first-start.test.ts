import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { type GatewayProcess, runMain, startGatewayProcess } from "../support/GatewayProcess.js"
import { TEST_SECRET_KEY } from "../support/TestConfig.js"
import { createStorage, type SharedStorage, startTestGateway } from "../support/TestGateway.js"

/** The first superuser's credentials file (`${DATA_DIR}/admin-credentials.txt`), parsed. */
const readCredentials = (dataDir: string) => {
  const file = path.join(dataDir, "admin-credentials.txt")
  const text = fs.readFileSync(file, "utf8")
  const field = (name: string) => new RegExp(`^${name}: (.+)$`, "m").exec(text)?.[1]
  return {
    file,
    mode: fs.statSync(file).mode & 0o777,
    username: field("username"),
    password: field("password"),
    apiKey: field("api_key"),
  }
}

const login = (url: string, username: string, password: string) =>
  fetch(`${url}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  })

/** The gateway as a process with the first-start bootstrap on (the default), its standard output kept. */
const startWithBootstrap = async (storage: SharedStorage) => {
  const gateway = await startGatewayProcess({
    storage,
    env: { BOOTSTRAP_ADMIN: "true", LOG_LEVEL: "INFO" },
    stdout: "pipe",
  })
  let stdout = ""
  gateway.child.stdout!.on("data", (d) => (stdout += String(d)))
  return { ...gateway, stdout: () => stdout }
}

/** SIGTERM and the exit code. */
const stopped = async (gateway: GatewayProcess) => {
  await gateway.stop()
  return (await gateway.exited).code
}

describe("first start: the superuser's credentials are never lost", { timeout: 120_000 }, () => {
  let storage: SharedStorage
  let env: Record<string, string | undefined>
  beforeEach(async () => {
    storage = await createStorage()
    env = { ...storage.env, SECRET_KEY: TEST_SECRET_KEY }
  })
  afterEach(async () => storage.close())

  it("a start that cannot listen prints nothing, keeps the credentials in a 0600 file, and the next start works with them", async () => {
    const busy = net.createServer()
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve))
    const port = (busy.address() as net.AddressInfo).port
    const failed = await runMain({ ...env, PORT: String(port) })
    busy.close()
    expect(failed.code).not.toBe(0)
    expect(failed.stderr).toMatch(/could not listen/)
    expect(failed.stdout).not.toMatch(/first start|password/i)

    const credentials = readCredentials(storage.env.DATA_DIR!)
    expect(credentials.mode).toBe(0o600)
    expect(credentials.username).toBe("admin")
    expect(credentials.apiKey).toMatch(/\S{20,}/)

    const gateway = await startWithBootstrap(storage)
    try {
      expect(gateway.stdout()).toBe("") // the admin exists: nothing announced again
      const models = await fetch(`${gateway.url}/v1/models`, {
        headers: { authorization: `Bearer ${credentials.apiKey}` },
      })
      expect(models.status).toBe(200)
      expect((await login(gateway.url, "admin", credentials.password!)).status).toBe(200)
    } finally {
      expect(await stopped(gateway)).toBe(0)
    }
  })

  it("a start that listens names the file on standard output (never the secrets), no log line holds them, and reset-admin-password replaces the password, ends the old one, and refuses what it cannot reset", async () => {
    const gateway = await startWithBootstrap(storage)
    // The announcement follows the listen line: wait for it (at most 10 s).
    for (let waited = 0; !gateway.stdout().includes("admin-credentials.txt") && waited < 10_000; waited += 50)
      await new Promise((r) => setTimeout(r, 50))
    const stdout = gateway.stdout()
    const stderr = gateway.stderr()
    await gateway.stop()
    const before = readCredentials(storage.env.DATA_DIR!)
    expect(stdout).toContain(before.file)
    for (const secret of [before.password!, before.apiKey!]) {
      expect(stdout).not.toContain(secret)
      expect(stderr).not.toContain(secret)
    }

    const reset = await runMain(env, { args: ["reset-admin-password"] })
    expect(reset.code).toBe(0)
    expect(reset.stdout).toContain(before.file)
    const after = readCredentials(storage.env.DATA_DIR!)
    expect(after.mode).toBe(0o600)
    expect(after.password).not.toBe(before.password)
    expect(reset.stdout).not.toContain(after.password!)

    // Independent refusals (only the first opens the database): run side by side.
    const [unknown, bogus] = await Promise.all([
      runMain(env, { args: ["reset-admin-password", "nobody\u001b[31m"] }),
      runMain(env, { args: ["frobnicate"] }),
    ])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/no user named/)
    expect(bogus.code).toBe(1)
    expect(bogus.stderr).toMatch(/unknown command/)

    // What the reset left in the database, read by the gateway's own layers in this process.
    const restarted = await startTestGateway({ storage })
    try {
      expect((await login(restarted.url, "admin", before.password!)).status).toBe(401)
      expect((await login(restarted.url, "admin", after.password!)).status).toBe(200)
      const models = await fetch(`${restarted.url}/v1/models`, {
        headers: { authorization: `Bearer ${before.apiKey}` },
      })
      expect(models.status).toBe(200) // API keys are unchanged by a password reset
    } finally {
      await restarted.close()
    }
  })
})
