import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createStorage, OUTAGE_DATABASE_URL, type SharedStorage, startTestGateway } from "../support/TestGateway.js"

/**
 * Where the secret came from is logged once at start (never the value), and an instance whose
 * own secret file does not match what a shared database was sealed with does not start (the
 * dev-mode trap: each instance generating its own `secret.key` over one DATABASE_URL).
 */

const secretLines = (logs: ReadonlyArray<string>) => logs.filter((line) => line.includes('msg="secret: '))

describe("two instances on one Postgres database without SECRET_KEY", () => {
  let storage: SharedStorage
  let dirA: string
  let dirB: string
  beforeAll(async () => {
    storage = await createStorage({ serverUrl: OUTAGE_DATABASE_URL })
    dirA = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-secret-a-"))
    dirB = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-secret-b-"))
  })
  afterAll(async () => {
    await storage?.close()
    for (const dir of [dirA, dirB]) fs.rmSync(dir, { recursive: true, force: true })
  })

  it("the first generates its secret and says where; the second is refused, keeps no file, and starts with the first's secret", async () => {
    // First instance: generates dirA/secret.key; its first start writes the admin's API key (sealed by that secret).
    const first = await startTestGateway({ storage, env: { SECRET_KEY: undefined, DATA_DIR: dirA, LOG_LEVEL: "INFO" } })
    const secretA = fs.readFileSync(path.join(dirA, "secret.key"), "utf8").trim()
    try {
      expect(secretLines(first.logs)).toEqual([
        expect.stringContaining(
          `secret: SECRET_KEY not set; generated a new secret and saved it to ${path.join(dirA, "secret.key")}`,
        ),
      ])
      expect(first.logs.join("\n")).not.toContain(secretA)
    } finally {
      await first.close()
    }

    const refused = await startTestGateway({ storage, env: { SECRET_KEY: undefined, DATA_DIR: dirB } }).then(
      () => undefined,
      (error: unknown) => error as { readonly message: string },
    )
    expect(refused?.message).toContain(
      `the secret just generated in ${path.join(dirB, "secret.key")} (now removed again)`,
    )
    expect(refused?.message).toMatch(
      /the database at 127\.0\.0\.1:5432\/apiproxy_test_\w+ was written with: it holds 1 API key\(s\) sealed by another secret/,
    )
    expect(refused?.message).toContain("Set SECRET_KEY to that secret on every instance")
    expect(fs.existsSync(path.join(dirB, "secret.key"))).toBe(false)

    // Given the first's secret, the second starts and says it came from the environment.
    const second = await startTestGateway({ storage, env: { SECRET_KEY: secretA, DATA_DIR: dirB, LOG_LEVEL: "INFO" } })
    try {
      expect(secretLines(second.logs)).toEqual([expect.stringContaining("secret: SECRET_KEY from the environment")])
      expect(second.logs.join("\n")).not.toContain(secretA)
    } finally {
      await second.close()
    }

    // The first again: its saved secret, read back.
    const again = await startTestGateway({ storage, env: { SECRET_KEY: undefined, DATA_DIR: dirA, LOG_LEVEL: "INFO" } })
    try {
      expect(secretLines(again.logs)).toEqual([
        expect.stringContaining(
          `secret: SECRET_KEY not set; using the secret saved in ${path.join(dirA, "secret.key")}`,
        ),
      ])
    } finally {
      await again.close()
    }
  }, 120_000)

  it("SECRET_KEY set by the operator but not the database's: it starts, with a warning naming what cannot be read", async () => {
    const other = await startTestGateway({
      storage,
      env: { SECRET_KEY: "another-secret-of-forty-characters-000000", DATA_DIR: dirB, LOG_LEVEL: "INFO" },
    })
    try {
      const warning = other.logs.find((line) => line.includes("level=WARN") && line.includes("SECRET_KEY_PREVIOUS"))
      expect(warning).toMatch(
        /holds 1 API key\(s\) sealed by a secret that is neither SECRET_KEY nor SECRET_KEY_PREVIOUS/,
      )
    } finally {
      await other.close()
    }
  }, 60_000)
})

describe("a DATA_DIR whose secret.key was deleted (embedded database, or the test run's PostgreSQL)", () => {
  it("a new secret is not adopted: start-up stops and the file is removed again", async () => {
    const storage = await createStorage()
    const dataDir = storage.env.DATA_DIR!
    try {
      const first = await startTestGateway({ storage, env: { SECRET_KEY: undefined } })
      await first.close()
      fs.rmSync(path.join(dataDir, "secret.key"))
      const error = await startTestGateway({ storage, env: { SECRET_KEY: undefined } }).then(
        () => undefined,
        (e: unknown) => e as { message: string },
      )
      const database =
        storage.env.DATABASE_URL === undefined ? `the embedded database in ${dataDir}` : "the database at "
      expect(error?.message).toContain(database)
      expect(error?.message).toContain("was written with")
      expect(fs.existsSync(path.join(dataDir, "secret.key"))).toBe(false)
    } finally {
      await storage.close()
    }
  }, 120_000)
})
