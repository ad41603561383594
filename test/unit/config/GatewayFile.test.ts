import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Redacted } from "effect"
import {
  checkUpstreamProviders,
  formatPath,
  type GatewayFileFormat,
  loadGatewayFile,
  parseGatewayFile,
} from "../../../src/config/GatewayFile.js"

const ENV = new Map([
  ["OPENAI_API_KEY", "sk-openai-test-0123456789abcdef"],
  ["ANTHROPIC_API_KEY", "sk-ant-test-0123456789abcdef"],
  ["BLANK_KEY", "   "],
])
const withEnv = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.withConfigProvider(effect, ConfigProvider.fromMap(ENV))

const parse = (text: string, format: GatewayFileFormat = "yaml") =>
  withEnv(parseGatewayFile(text, { file: `gateway.${format}`, format }))

/** The error of a file that must be rejected. */
const failureOf = (text: string, format: GatewayFileFormat = "yaml") =>
  Effect.map(Effect.flip(parse(text, format)), (e) => {
    expect(e._tag).toBe("GatewayFileError")
    return e
  })

/** What is wrong with a file that must be rejected, one problem a line, without positions. */
const errorOf = (text: string, format: GatewayFileFormat = "yaml") =>
  Effect.map(failureOf(text, format), (e) => e.problems.map((problem) => problem.text).join("\n"))

const FULL_YAML = `
providers:
  - id: openai
    name: OpenAI
    protocol: openai
    base_url: https://api.openai.com/
    type: native
    weight: 2
    keys:
      - value_env: OPENAI_API_KEY
        label: default
        weight: 1
        max_qps: 50
      - value: sk-inline-0123456789abcdef
        label: backup
    models: [gpt-4o-mini, gpt-4o]
    aliases: { mini: gpt-4o-mini }
    paths: { models: /v1/models, chat: /v1/chat/completions, responses: /v1/responses, messages: /v1/messages }
    retryable_status: [503, 429, 500]
    headers: { X-Org: acme }
    cost_input: 0.15
    cost_output: 0.6
    region: us
  - id: backup
    base_url: https://backup.example.com/api
    keys:
      - value_env: ANTHROPIC_API_KEY
    paths: { responses: null }
logical_models:
  - id: fast-model
    description: cheap and quick
    upstreams:
      - { provider: openai, model: gpt-4o-mini, weight: 1, priority: 0 }
      - { provider: backup, model: gpt-4o-mini, priority: 1 }
`

const provider = (extra: string) => `
providers:
  - id: openai
    base_url: https://api.openai.com
${extra}`

describe("GatewayFile", () => {
  it.effect("parses the documented YAML format with defaults and resolves value_env", () =>
    Effect.gen(function* () {
      const file = yield* parse(FULL_YAML)
      expect(file.prune).toBe(false)
      const [openai, backup] = file.providers
      expect(openai).toMatchObject({
        id: "openai",
        name: "OpenAI",
        protocol: "openai",
        baseUrl: "https://api.openai.com",
        type: "native",
        weight: 2,
        enabled: true,
        models: ["gpt-4o-mini", "gpt-4o"],
        aliases: { mini: "gpt-4o-mini" },
        retryableStatus: [429, 500, 503],
        headers: { "X-Org": "acme" },
        settings: { cost_input: 0.15, cost_output: 0.6, region: "us" },
      })
      expect(openai!.keys.map((k) => [k.label, k.weight, k.maxQps, k.source])).toEqual([
        ["default", 1, 50, { env: "OPENAI_API_KEY" }],
        ["backup", 1, null, "inline"],
      ])
      expect(Redacted.value(openai!.keys[0]!.secret)).toBe("sk-openai-test-0123456789abcdef")
      expect(Redacted.value(openai!.keys[1]!.secret)).toBe("sk-inline-0123456789abcdef")
      // Defaults: protocol openai, type native, weight 1, name = id, discovery (models null).
      expect(backup).toMatchObject({
        id: "backup",
        name: "backup",
        protocol: "openai",
        type: "native",
        weight: 1,
        models: null,
        paths: { responses: null },
        retryableStatus: null,
      })
      expect(backup!.keys[0]!.label).toBe("anthropic_api_key")
      expect(file.logicalModels).toEqual([
        {
          id: "fast-model",
          name: null,
          description: "cheap and quick",
          enabled: true,
          strategy: "balanced",
          upstreams: [
            { provider: "openai", model: "gpt-4o-mini", weight: 1, priority: 0 },
            { provider: "backup", model: "gpt-4o-mini", weight: 1, priority: 1 },
          ],
          policy: {},
        },
      ])
    }),
  )

  it.effect("never shows a key in the parsed value's printed form", () =>
    Effect.gen(function* () {
      const file = yield* parse(FULL_YAML)
      const printed = JSON.stringify(file) + String(file.providers[0]!.keys[0]!.secret)
      expect(printed).not.toContain("sk-openai-test")
      expect(printed).not.toContain("sk-inline")
    }),
  )

  it.effect("parses the same configuration from JSON", () =>
    Effect.gen(function* () {
      const json = JSON.stringify({
        prune: true,
        providers: [
          {
            id: "gemini",
            protocol: "gemini",
            base_url: "https://generativelanguage.googleapis.com",
            keys: [{ value_env: "OPENAI_API_KEY", label: "main" }],
          },
        ],
      })
      const file = yield* parse(json, "json")
      expect(file.prune).toBe(true)
      expect(file.providers[0]).toMatchObject({ id: "gemini", protocol: "gemini", paths: {} })
      expect(file.logicalModels).toEqual([])
    }),
  )

  it.effect("an empty file is an empty configuration", () =>
    Effect.gen(function* () {
      const file = yield* parse("")
      expect(file).toEqual({ prune: false, providers: [], logicalModels: [] })
    }),
  )

  it.effect("names the exact path of a Schema error", () =>
    Effect.gen(function* () {
      expect(
        yield* errorOf(`
providers:
  - id: openai
    base_url: https://api.openai.com
  - id: other
    base_url: ftp://example.com
`),
      ).toBe("providers[1].base_url: expected an http(s) URL")
      expect(yield* errorOf(provider("    protocol: grpc"))).toBe(
        "providers[0].protocol: expected one of openai, anthropic, gemini",
      )
      expect(yield* errorOf(provider("    weight: 0"))).toBe("providers[0].weight: expected a number > 0")
      expect(yield* errorOf(provider("    weight: -2"))).toBe("providers[0].weight: expected a number > 0")
      expect(yield* errorOf(provider("    keys: [{ value: sk-1234567890, weight: 0 }]"))).toBe(
        "providers[0].keys[0].weight: expected a number > 0",
      )
      expect(yield* errorOf(provider("    type: proxy"))).toBe("providers[0].type: expected native or aggregator")
      expect(yield* errorOf(provider("    paths: { chat: v1/chat }"))).toBe(
        "providers[0].paths.chat: expected a path starting with / (e.g. /v1/chat/completions)",
      )
      expect(yield* errorOf(provider("    retryable_status: [429, 700]"))).toBe(
        "providers[0].retryable_status[1]: expected an HTTP status code (100 to 599)",
      )
      expect(yield* errorOf(provider("    models: gpt-4o"))).toBe("providers[0].models: expected a list")
      expect(yield* errorOf(provider('    headers: { "Bad Header": x }'))).toBe(
        'providers[0].headers["Bad Header"]: expected an HTTP header name',
      )
      expect(yield* errorOf(provider("    base-url: https://typo.example.com"))).toBe(
        "providers[0].base-url: unknown field",
      )
      expect(yield* errorOf("providers:\n  - name: nameless\n    base_url: https://x.example.com\n")).toBe(
        "providers[0].id: is required",
      )
      expect(yield* errorOf("providers:\n  - id: Open AI\n    base_url: https://x.example.com\n")).toMatch(
        /^providers\[0\]\.id: expected a slug/,
      )
      expect(yield* errorOf("providers: openai")).toBe("providers: expected a list")
      expect(yield* errorOf("- 1")).toMatch(/^\(root\): expected a map/)
    }),
  )

  it.effect("validates logical models", () =>
    Effect.gen(function* () {
      const base = provider("")
      expect(yield* errorOf(`${base}logical_models:\n  - id: m\n    upstreams: []\n`)).toBe(
        "logical_models[0].upstreams: expected a non-empty list of upstreams",
      )
      expect(
        yield* errorOf(
          `${base}logical_models:\n  - id: m\n    upstreams: [{ provider: openai, model: x, weight: 0 }]\n`,
        ),
      ).toBe("logical_models[0].upstreams[0].weight: expected a number > 0")
      expect(
        yield* errorOf(
          `${base}logical_models:\n  - id: m\n    upstreams: [{ provider: openai, model: x, priority: -1 }]\n`,
        ),
      ).toBe("logical_models[0].upstreams[0].priority: expected a whole number ≥ 0")
      expect(yield* errorOf(`${base}logical_models:\n  - id: m\n    upstreams: [{ provider: openai }]\n`)).toBe(
        "logical_models[0].upstreams[0].model: is required",
      )
      expect(
        yield* errorOf(
          `${base}logical_models:\n  - id: m\n    upstreams: [{ provider: openai, model: x }]\n  - id: m\n    upstreams: [{ provider: openai, model: y }]\n`,
        ),
      ).toBe('logical_models[1].id: duplicate logical model id "m" (also logical_models[0])')
    }),
  )

  it.effect("rejects duplicates and ambiguous keys", () =>
    Effect.gen(function* () {
      expect(
        yield* errorOf(`
providers:
  - id: openai
    base_url: https://api.openai.com
  - id: openai
    base_url: https://other.example.com
`),
      ).toBe('providers[1].id: duplicate provider id "openai" (also providers[0])')
      expect(
        yield* errorOf(provider("    keys: [{ value: sk-a-123456 }, { value: sk-b-123456, label: key-1 }]")),
      ).toMatch(/^providers\[0\]\.keys\[1\]\.label: duplicate key label "key-1"/)
      expect(yield* errorOf(provider("    keys: [{ value: sk-a-123456, value_env: OPENAI_API_KEY }]"))).toBe(
        "providers[0].keys[0]: expected exactly one of value_env or value",
      )
      expect(yield* errorOf(provider("    keys: [{ label: nothing }]"))).toBe(
        "providers[0].keys[0]: expected exactly one of value_env or value",
      )
    }),
  )

  it.effect("names a missing or blank environment variable", () =>
    Effect.gen(function* () {
      expect(yield* errorOf(provider("    keys:\n      - value_env: NOT_SET_ANYWHERE"))).toBe(
        "providers[0].keys[0].value_env: environment variable NOT_SET_ANYWHERE is not set",
      )
      expect(
        yield* errorOf(provider("    keys:\n      - value_env: OPENAI_API_KEY\n      - value_env: BLANK_KEY")),
      ).toBe("providers[0].keys[1].value_env: environment variable BLANK_KEY is not set")
    }),
  )

  it.effect("reports YAML and JSON syntax errors with their position", () =>
    Effect.gen(function* () {
      expect((yield* failureOf("providers:\n  - id: a\n   base_url: x\n")).message).toMatch(
        /^gateway\.yaml: line 3, column \d+: invalid YAML: /,
      )
      expect((yield* failureOf("providers:\n  - id: a\n    id: b\n")).message).toMatch(
        /^gateway\.yaml: line 3.*invalid YAML.*unique/,
      )
      expect((yield* failureOf('{"providers": [}', "json")).message).toMatch(
        /^gateway\.json: line 1, column \d+: invalid JSON$/,
      )
      // The parser's own message quotes the text around the error: it must not reach the log.
      const secretInline =
        '{"providers": [{"id": "a", "base_url": "http://x", "keys": [{"value": "sk-secret-123456"},]}]}'
      expect(yield* errorOf(secretInline, "json")).not.toContain("sk-secret")
    }),
  )

  it.effect("checks upstream providers against the file and the database", () =>
    Effect.gen(function* () {
      const text = `${provider("")}logical_models:\n  - id: m\n    upstreams: [{ provider: openai, model: x }, { provider: legacy, model: y }]\n`
      const file = yield* parse(text)
      expect(checkUpstreamProviders(file, new Set())).toBe(
        'logical_models[0].upstreams[1].provider: unknown provider "legacy"',
      )
      // Created earlier through the management API: allowed.
      expect(checkUpstreamProviders(file, new Set(["legacy"]))).toBeUndefined()
      // ...but not when prune is about to delete it.
      const pruning = yield* parse(`prune: true\n${text}`)
      expect(checkUpstreamProviders(pruning, new Set(["legacy"]))).toMatch(/unknown provider "legacy" \(prune: true/)
    }),
  )

  it.effect("a logical model's own timeouts, retries and rescue setting: parsed, and wrong values named", () =>
    Effect.gen(function* () {
      const model = (extra: string) =>
        `${provider("")}logical_models:\n  - id: m\n    upstreams: [{ provider: openai, model: x }]\n${extra}`
      const file = yield* parse(
        model("    timeouts: { first_token: 8, idle: 20.5, request: 90 }\n    retries: 1\n    rescue: false\n"),
      )
      expect(file.logicalModels[0]!.policy).toEqual({
        timeouts: { first_token: 8, idle: 20.5, request: 90 },
        retries: 1,
        rescue: false,
      })
      expect((yield* parse(model(""))).logicalModels[0]!.policy).toEqual({})
      expect(yield* errorOf(model("    timeouts: { first_token: 0 }\n"))).toBe(
        "logical_models[0].timeouts.first_token: expected a number of seconds > 0 (at most 86400)",
      )
      expect(yield* errorOf(model("    retries: 9\n"))).toBe(
        "logical_models[0].retries: expected a whole number from 0 to 5",
      )
      expect(yield* errorOf(model("    timeouts: { first-token: 5 }\n"))).toBe(
        "logical_models[0].timeouts.first-token: unknown field",
      )
    }),
  )

  it.effect("a provider's prices: parsed into its settings, and a wrong price named by its path", () =>
    Effect.gen(function* () {
      const file = yield* parse(
        provider(
          `    prices:\n      gpt-4o: { input: 2.5, cached_input: 1.25, output: 10 }\n      "*": { input: 0, output: 0, request: 0.001 }\n`,
        ),
      )
      expect(file.providers[0]!.settings.prices).toEqual({
        "gpt-4o": { input: 2.5, cached_input: 1.25, output: 10 },
        "*": { input: 0, output: 0, request: 0.001 },
      })
      expect(yield* errorOf(provider(`    prices:\n      gpt-4o: { input: 0.0000001, output: 10 }\n`))).toBe(
        "providers[0].prices.gpt-4o.input: expected a price in USD from 0 to 1000000 with at most 6 decimals",
      )
      expect(yield* errorOf(provider(`    prices:\n      gpt-4o: { input: 1, output: 1, cached: 1 }\n`))).toBe(
        "providers[0].prices.gpt-4o.cached: unknown field",
      )
    }),
  )

  it.effect("reports every problem at once, each with its line and column", () =>
    Effect.gen(function* () {
      const file = [
        "providers:", //                                  1
        "  - id: openai", //                              2
        "    base_url: ftp://nowhere", //                  3
        "    weight: 0", //                                4
        "    keys:", //                                    5
        "      - value_env: NOT_SET_ANYWHERE", //          6
        "  - id: Bad Id", //                               7
        "    base_url: https://ok.example", //             8
        "    base-url: https://typo.example", //           9
        "logical_models:", //                              10
        "  - id: m", //                                    11
        "    upstreams: []", //                            12
        "",
      ].join("\n")
      const failure = yield* failureOf(file)
      expect(failure.problems.map((p) => [p.line, p.text.split(":")[0]])).toEqual([
        [3, "providers[0].base_url"],
        [4, "providers[0].weight"],
        [7, "providers[1].id"],
        [9, "providers[1].base-url"],
        [12, "logical_models[0].upstreams"],
      ])
      expect(failure.message).toMatch(
        /^gateway\.yaml: 5 problems:\n {2}line 3, column 15: providers\[0\]\.base_url: expected an http\(s\) URL\n/,
      )
      // Once the Schema holds, every unset variable is named at once too.
      const unset = yield* failureOf(
        provider("    keys:\n      - value_env: FIRST_UNSET\n      - value_env: SECOND_UNSET"),
      )
      expect(unset.problems.map((p) => p.text)).toEqual([
        "providers[0].keys[0].value_env: environment variable FIRST_UNSET is not set",
        "providers[0].keys[1].value_env: environment variable SECOND_UNSET is not set",
      ])
      expect(unset.problems.every((p) => p.line !== undefined)).toBe(true)
    }),
  )

  it.effect("loads YAML and JSON files by extension and names a missing file", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gateway-file-"))
      try {
        const yamlPath = path.join(dir, "gateway.yaml")
        const jsonPath = path.join(dir, "gateway.json")
        fs.writeFileSync(yamlPath, FULL_YAML)
        fs.writeFileSync(jsonPath, JSON.stringify({ providers: [{ id: "x", base_url: "http://localhost:9" }] }))
        const fromYaml = yield* withEnv(loadGatewayFile(yamlPath))
        expect(fromYaml.providers.map((p) => p.id)).toEqual(["openai", "backup"])
        const fromJson = yield* withEnv(loadGatewayFile(jsonPath))
        expect(fromJson.providers.map((p) => p.baseUrl)).toEqual(["http://localhost:9"])
        const missing = yield* Effect.flip(loadGatewayFile(path.join(dir, "nope.yaml")))
        expect(missing.message).toBe(
          `${path.join(dir, "nope.yaml")}: file not found (named by GATEWAY_CONFIG; looked for ${path.join(dir, "nope.yaml")})`,
        )
        expect(missing.file).toBe(path.join(dir, "nope.yaml"))
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }),
  )

  it("formats Schema paths with brackets for indexes and dots for fields", () => {
    expect(formatPath(["providers", 1, "base_url"])).toBe("providers[1].base_url")
    expect(formatPath(["providers", 0, "keys", 2, "value_env"])).toBe("providers[0].keys[2].value_env")
    expect(formatPath(["providers", 0, "headers", "X Y"])).toBe('providers[0].headers["X Y"]')
    expect(formatPath([])).toBe("")
  })
})

describe("examples/gateway.yaml", () => {
  it.effect("is a valid providers file", () =>
    Effect.gen(function* () {
      const example = new URL("../../../examples/gateway.yaml", import.meta.url)
      const vars = ["OPENAI_API_KEY", "OPENAI_API_KEY_2", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY"]
      const file = yield* loadGatewayFile(example.pathname).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(vars.map((v) => [v, `sk-example-${v}-0123456789`])))),
      )
      expect(file.providers.map((p) => [p.id, p.protocol, p.type])).toEqual([
        ["openai", "openai", "native"],
        ["anthropic", "anthropic", "native"],
        ["gemini", "gemini", "native"],
        ["openrouter", "openai", "aggregator"],
      ])
      expect(checkUpstreamProviders(file, new Set())).toBeUndefined()
      const fast = file.logicalModels.find((m) => m.id === "fast-model")!
      expect(fast.upstreams.some((u) => u.priority > 0)).toBe(true)
      expect(file.providers.every((p) => p.keys.every((k) => k.source !== "inline"))).toBe(true)
    }),
  )
})
