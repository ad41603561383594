import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Reactivity from "@effect/experimental/Reactivity"
import { ConfigProvider, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { makeAppLayer } from "../../src/App.js"
import { ServerAddress } from "../../src/http/NodeServer.js"
import * as Database from "../../src/storage/Database.js"
import { reachable, startTcpProxy, type TcpProxy } from "./TcpProxy.js"
import { dataRoot, type TestEnv, testEnv } from "./TestConfig.js"
import { copyPgliteTemplate } from "./TestDatabase.js"
import { deleteRedisPrefix } from "./TestKv.js"

export interface TestGateway {
  readonly url: string
  /** `GATEWAY_MASTER_KEY` of this gateway: a superuser API key. */
  readonly masterKey: string
  /** Every log line the gateway wrote (already redacted by its logger). */
  readonly logs: ReadonlyArray<string>
  readonly env: ReadonlyMap<string, string>
  readonly close: () => Promise<void>
}

export interface SharedStorage {
  /** Env entries that point a gateway at this storage (DATABASE_URL/DATA_DIR, KV_PREFIX). */
  readonly env: Readonly<Record<string, string | undefined>>
  readonly close: () => Promise<void>
}

const withDatabase = (url: string, database: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

const onServer = (url: string, statement: string) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(Database.connect(Redacted.make(url), { maxConnections: 1 }), (sql) => sql.unsafe(statement)),
    ).pipe(Effect.provide(Reactivity.layer)),
  )

/**
 * Storage for one or more gateways: a fresh database on the server at `DATABASE_URL` (dropped on
 * close) or a fresh embedded data dir, and a private KV prefix (deleted on close when Redis).
 * Two gateways given the same storage behave like two instances of one deployment — except with
 * the embedded database, which only one process may open. `serverUrl`: a Postgres server to use
 * even without `DATABASE_URL`.
 */
export const createStorage = async (options: { readonly serverUrl?: string } = {}): Promise<SharedStorage> => {
  const prefix = `apiproxy-test-${randomBytes(6).toString("hex")}:`
  const dataDir = fs.mkdtempSync(path.join(dataRoot(), "apiproxy-gw-"))
  const serverUrl = options.serverUrl ?? process.env.DATABASE_URL
  const redisUrl = process.env.REDIS_URL
  let databaseUrl: string | undefined
  let name: string | undefined
  if (serverUrl) {
    name = `apiproxy_test_${randomBytes(6).toString("hex")}`
    await onServer(serverUrl, `CREATE DATABASE "${name}"`)
    databaseUrl = withDatabase(serverUrl, name)
  } else {
    // A migrated PGlite template copies in milliseconds; a fresh initdb takes seconds.
    await Effect.runPromise(copyPgliteTemplate(dataDir))
  }
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: databaseUrl, KV_PREFIX: prefix, REDIS_URL: redisUrl },
    close: async () => {
      if (serverUrl && name) await onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      if (redisUrl) await Effect.runPromise(deleteRedisPrefix(redisUrl, prefix))
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Starts the real gateway (the production layer graph) on an ephemeral loopback port.
 * Pass `storage` to share a database and KV namespace between gateways; otherwise a private one
 * is created and removed on close. `gatewayFile` is written to a temp file and imported at start.
 */
export const startTestGateway = async (
  options: { readonly env?: TestEnv; readonly storage?: SharedStorage; readonly gatewayFile?: unknown } = {},
): Promise<TestGateway> => {
  const ownStorage = options.storage === undefined ? await createStorage() : undefined
  const storage = options.storage ?? ownStorage!
  const masterKey = `apx-master-${randomBytes(16).toString("hex")}`
  const extra: Record<string, string | undefined> = { GATEWAY_MASTER_KEY: masterKey, LOG_LEVEL: "INFO" }
  let configFile: string | undefined
  if (options.gatewayFile !== undefined) {
    configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-file-")), "gateway.json")
    fs.writeFileSync(configFile, JSON.stringify(options.gatewayFile))
    extra.GATEWAY_CONFIG = configFile
  }
  const dataDir = storage.env.DATA_DIR!
  const env = testEnv(dataDir, { ...storage.env, ...extra, ...options.env })
  const logs: Array<string> = []
  const layer = makeAppLayer({ logSink: (line) => logs.push(line) }).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(env))),
  )
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope)).catch(async (error) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await ownStorage?.close()
    throw error
  })
  const address = Effect.runSync(Effect.provide(ServerAddress, context))
  return {
    url: address.url,
    masterKey,
    logs,
    env,
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      if (configFile) fs.rmSync(path.dirname(configFile), { recursive: true, force: true })
      await ownStorage?.close()
    },
  }
}

/** The Postgres server outage tests use: `DATABASE_URL`, else the one on 127.0.0.1:5432. */
export const OUTAGE_DATABASE_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres"

/**
 * Storage whose database the gateway reaches through a loopback TCP proxy the test can cut
 * (`TcpProxy`): a fresh database on `OUTAGE_DATABASE_URL`'s server; `undefined` when nothing
 * listens there. Close the proxy and the storage when done.
 */
export const proxiedStorage = async (): Promise<
  { readonly storage: SharedStorage; readonly proxy: TcpProxy } | undefined
> => {
  const server = new URL(OUTAGE_DATABASE_URL)
  const port = Number(server.port || 5432)
  if (!(await reachable(server.hostname, port))) return undefined
  const direct = await createStorage({ serverUrl: OUTAGE_DATABASE_URL })
  const proxy = await startTcpProxy(server.hostname, port)
  return {
    storage: { ...direct, env: { ...direct.env, DATABASE_URL: proxy.rewrite(direct.env.DATABASE_URL!) } },
    proxy,
  }
}
