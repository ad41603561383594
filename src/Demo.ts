/**
 * `apiproxy demo` (`npm run demo`): the gateway with no provider keys. Starts the bundled mock
 * provider (src/mock/) on 127.0.0.1:MOCK_PROVIDER_PORT (8089) and the real gateway beside it, on
 * its own defaults where the environment sets nothing: DATA_DIR `./data-demo` (kept, so a
 * restart skips creating the database), GATEWAY_CONFIG `examples/demo.yaml` (three providers on
 * the mock), HOST `127.0.0.1`, LOG_LEVEL `WARNING`. Once the server listens it prints a `curl`
 * and an SDK snippet that work as shown — reading the API key from the first start's credentials
 * file, never printing it.
 */

import * as fs from "node:fs"
import * as path from "node:path"
import { Config, ConfigProvider, Effect, Layer, Schema } from "effect"
import { makeAppLayer } from "./App.js"
import { AppConfig } from "./config/AppConfig.js"
import { ADMIN_CREDENTIALS_FILE } from "./identity/AdminCredentialsFile.js"
import { FirstStart, type FirstStartOutcome } from "./identity/Bootstrap.js"
import { startMockProvider } from "./mock/MockProvider.js"

/** What the demo sets unless the environment does. */
export const DEMO_DEFAULTS: Readonly<Record<string, string>> = {
  DATA_DIR: "./data-demo",
  GATEWAY_CONFIG: "examples/demo.yaml",
  HOST: "127.0.0.1",
  LOG_LEVEL: "WARNING",
}

const demoConfigProvider = ConfigProvider.fromEnv().pipe(
  ConfigProvider.orElse(() => ConfigProvider.fromMap(new Map(Object.entries(DEMO_DEFAULTS)))),
)

export class MockProviderStartError extends Schema.TaggedError<MockProviderStartError>()("MockProviderStartError", {
  message: Schema.String,
}) {}

const shellWord = (word: string): string =>
  /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`

/** How the printed snippets get the API key: a command reading the credentials file, or what to do. */
const keyLine = (outcome: FirstStartOutcome, dataDir: string, masterKeySet: boolean): string => {
  const file = path.join(dataDir, ADMIN_CREDENTIALS_FILE)
  if (outcome._tag === "Unwritten") return "export APIPROXY_KEY=...   # the API key shown above"
  if (fs.existsSync(file)) return `export APIPROXY_KEY=$(sed -n 's/^api_key: //p' ${shellWord(file)})`
  return masterKeySet
    ? "export APIPROXY_KEY=$GATEWAY_MASTER_KEY"
    : `export APIPROXY_KEY=...   # an API key of this gateway (no ${file}: BOOTSTRAP_ADMIN=false, or it was deleted; \`npm run apiproxy -- reset-admin-password\` or a fresh DATA_DIR)`
}

/** The lines printed once the gateway listens. */
export const demoLines = (input: {
  readonly gatewayUrl: string
  readonly mockUrl: string
  readonly keyLine: string
  readonly dataDir: string
  readonly gatewayConfig: string
}): ReadonlyArray<string> => [
  "==================== APIProxy demo ====================",
  `Gateway        ${input.gatewayUrl}   (DATA_DIR ${input.dataDir}, providers from ${input.gatewayConfig})`,
  `Mock provider  ${input.mockUrl}   (OpenAI, Anthropic and Gemini protocols; answers "Hello from mock: <your text>")`,
  `Console        ${input.gatewayUrl}/ui   (sign in as admin: the password is in ${input.dataDir}/admin-credentials.txt)`,
  "",
  "Try it:",
  `  ${input.keyLine}`,
  `  curl ${input.gatewayUrl}/v1/chat/completions \\`,
  '    -H "Authorization: Bearer $APIPROXY_KEY" -H "Content-Type: application/json" \\',
  `    -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}'`,
  "",
  "With the openai SDK (APIPROXY_KEY exported as above; save as hello.mjs, run `node hello.mjs`):",
  '  import OpenAI from "openai"',
  `  const client = new OpenAI({ baseURL: "${input.gatewayUrl}/v1", apiKey: process.env.APIPROXY_KEY })`,
  '  const answer = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "Hello" }] })',
  "  console.log(answer.choices[0].message.content)",
  "",
  `Failover: make the next chat completion fail at the mock, then ask the logical model "fast" again:`,
  `  curl -X POST ${input.mockUrl}/mock/script -d '{"status": 503, "match": {"path": "/v1/chat/completions"}}'`,
  "Models: gpt-4o-mini, gpt-4o, claude-haiku-4-5, gemini-2.5-flash, fast.   Stop: Ctrl-C.",
  "=======================================================",
]

const announce = (mockUrl: string) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const outcome = yield* FirstStart
    const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host
    const gatewayConfig = yield* Config.string("GATEWAY_CONFIG").pipe(Config.withDefault(""))
    const lines = demoLines({
      gatewayUrl: `http://${host.includes(":") ? `[${host}]` : host}:${config.port}`,
      mockUrl,
      keyLine: keyLine(outcome, config.dataDir, config.masterKey._tag === "Some"),
      dataDir: config.dataDir,
      gatewayConfig,
    })
    yield* Effect.sync(() => process.stdout.write(["", ...lines, ""].join("\n") + "\n"))
  })

/** The mock provider for the demo's lifetime. */
const mockProvider = Effect.gen(function* () {
  const port = yield* Config.integer("MOCK_PROVIDER_PORT").pipe(Config.withDefault(8089))
  return yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        startMockProvider({
          port,
          controlRoutes: true,
          models: ["gpt-4o-mini", "gpt-4o", "claude-haiku-4-5", "gemini-2.5-flash"],
        }),
      catch: (error) =>
        new MockProviderStartError({
          message: `the mock provider could not listen on 127.0.0.1:${port} (MOCK_PROVIDER_PORT): ${error instanceof Error ? error.message : String(error)}`,
        }),
    }),
    (mock) => Effect.promise(() => mock.close()),
  )
})

/** The mock provider, then the whole gateway over it until interrupted (SIGINT/SIGTERM). */
export const runDemo: Effect.Effect<void, unknown> = Effect.gen(function* () {
  const mock = yield* mockProvider
  yield* Layer.launch(makeAppLayer().pipe(Layer.tap((context) => announce(mock.url).pipe(Effect.provide(context)))))
}).pipe(Effect.scoped, Effect.withConfigProvider(demoConfigProvider))
