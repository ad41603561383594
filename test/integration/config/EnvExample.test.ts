import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ConfigProvider, Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeAppLayer } from "../../../src/App.js"
import { testEnv } from "../../support/TestConfig.js"
import { createStorage, type SharedStorage } from "../../support/TestGateway.js"

/**
 * `.env.example` is the list of settings: every variable the gateway reads is in it, and every
 * variable in it is read (asked for at start here, or named in `src` when only another backend
 * reads it). The gateway is started (the production layer graph, as `main.ts` does)
 * over a ConfigProvider that records each name asked for, so a variable read anywhere in a layer
 * — `AppConfig`, a service's own `Config`, tracing — is caught, however it is spelled in the code.
 */

const root = fileURLToPath(new URL("../../../", import.meta.url))

/** `NAME=value` and commented-out `# NAME=value` lines of `.env.example`. */
const documentedVariables = (text: string): ReadonlySet<string> =>
  new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!))

/** A ConfigProvider over `env` that adds every name asked for to `asked`. */
const recording = (env: Map<string, string>, asked: Set<string>): ConfigProvider.ConfigProvider => {
  const inner = ConfigProvider.fromMap(env).flattened
  return ConfigProvider.fromFlat(
    ConfigProvider.makeFlat({
      load: (segments, primitive, split) => {
        asked.add(segments.join("_"))
        return inner.load(segments, primitive, split)
      },
      enumerateChildren: (segments) => inner.enumerateChildren(segments),
      patch: inner.patch,
    }),
  )
}

/** Every source file of `src`, as one text: a variable read only on another backend (`KV_TIMEOUT` with Redis) is named there. */
const sourceText = (dir: string): string =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .map((entry) =>
      entry.isDirectory()
        ? sourceText(path.join(dir, entry.name))
        : entry.name.endsWith(".ts")
          ? fs.readFileSync(path.join(dir, entry.name), "utf8")
          : "",
    )
    .join("\n")

describe(".env.example lists exactly the variables the gateway reads", () => {
  const asked = new Set<string>()
  let storage: SharedStorage
  let documented: ReadonlySet<string>
  beforeAll(async () => {
    documented = documentedVariables(fs.readFileSync(path.join(root, ".env.example"), "utf8"))
    storage = await createStorage()
    // Tracing on (towards a closed loopback port: nothing is sent), so its settings are read too.
    const env = testEnv(storage.env.DATA_DIR!, { ...storage.env, OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" })
    const layer = makeAppLayer({ logSink: () => {} }).pipe(
      Layer.provide(Layer.setConfigProvider(recording(env, asked))),
    )
    const scope = Effect.runSync(Scope.make())
    try {
      await Effect.runPromise(Layer.buildWithScope(layer, scope))
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
  afterAll(() => storage?.close())

  it("reads something (the recording works)", () => {
    for (const name of ["PORT", "SECRET_KEY", "DATABASE_URL", "OTEL_SERVICE_NAME"]) expect(asked).toContain(name)
  })

  it("every variable the gateway reads is in .env.example", () => {
    const missing = [...asked].filter((name) => !documented.has(name)).sort()
    expect(
      missing,
      `add ${missing.map((name) => `${name}=<default>`).join(", ")} to .env.example (with a comment and its default; commented out when it has none), and to the README's Configuration table`,
    ).toEqual([])
  })

  it("every variable in .env.example is read by the gateway", () => {
    const source = sourceText(path.join(root, "src"))
    const unread = [...documented].filter((name) => !asked.has(name) && !source.includes(`"${name}"`)).sort()
    expect(
      unread,
      `.env.example lists ${unread.join(", ")}, which src never reads: remove it from .env.example`,
    ).toEqual([])
  })
})
