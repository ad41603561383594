import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Config, Effect, Either, Option, ParseResult, Redacted, Schema } from "effect"
import type * as YAML from "yaml"
import { type LogicalModelPolicy, PolicyFields, policyOf } from "../shared/LogicalModelPolicy.js"
import { type ProviderSettings, ProviderSettingsFields, settingsOf } from "../shared/ProviderSettings.js"
import type { ProviderCore, ProviderPaths, RoutingStrategyName } from "../shared/ProviderVocabulary.js"
import { expecting } from "../shared/SchemaText.js"

/**
 * Providers as code: the GATEWAY_CONFIG file (YAML or JSON).
 *
 * The Schema mirrors the file (snake_case keys); `parseGatewayFile` turns it into the
 * camelCase `GatewayFile` below, with defaults applied and `value_env` keys read from the
 * environment (through the current ConfigProvider) into `Redacted` values. Any problem is
 * ONE `GatewayFileError` whose message names the place: `providers[1].base_url: expected an
 * http(s) URL`.
 *
 * Unknown keys are rejected (a typo such as `base-url` must not silently mean "default").
 */

/** One thing wrong in the file: `<path>: <what is wrong>` (never a secret), and where, when known. */
export const GatewayFileProblem = Schema.Struct({
  text: Schema.String,
  line: Schema.optional(Schema.Number),
  column: Schema.optional(Schema.Number),
})
export type GatewayFileProblem = typeof GatewayFileProblem.Type

/** At most this many problems are listed (a file of garbage must not print thousands of lines). */
const MAX_PROBLEMS = 50

/** `line 7, column 15: providers[1].base_url: expected an http(s) URL` (the text alone when there is no position). */
export const describeProblem = (problem: GatewayFileProblem): string =>
  problem.line === undefined ? problem.text : `line ${problem.line}, column ${problem.column}: ${problem.text}`

/** Everything wrong with the file, each with its line and column where the file has one. */
export class GatewayFileError extends Schema.TaggedError<GatewayFileError>()("GatewayFileError", {
  /** The file, as given (GATEWAY_CONFIG). */
  file: Schema.String,
  problems: Schema.Array(GatewayFileProblem),
}) {
  get message(): string {
    const listed = this.problems.slice(0, MAX_PROBLEMS).map(describeProblem)
    const more = this.problems.length > MAX_PROBLEMS ? [`… and ${this.problems.length - MAX_PROBLEMS} more`] : []
    return listed.length === 1
      ? `${this.file}: ${listed[0]}`
      : `${this.file}: ${this.problems.length} problems:\n${[...listed, ...more].map((line) => `  ${line}`).join("\n")}`
  }
}

/** A file error with one problem and no position (a file that cannot be read, a reference the database must settle). */
export const gatewayFileError = (file: string, text: string) => new GatewayFileError({ file, problems: [{ text }] })

// ---------------------------------------------------------------------------------------------
// Schema of the file (encoded form = what the user writes)

const isHttpUrl = (s: string): boolean => {
  try {
    const url = new URL(s)
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== ""
  } catch {
    return false
  }
}

// Record keys are checked in `checkConsistency`: a failing key schema would read "unknown field".
const isHeaderName = (s: string): boolean => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s)
const isModelName = (s: string): boolean => s.trim() === s && s.length > 0 && s.length <= 200

const HttpUrl = expecting(Schema.String.pipe(Schema.filter(isHttpUrl)), "expected an http(s) URL")
const Slug = expecting(
  Schema.String.pipe(Schema.pattern(/^[a-z0-9][a-z0-9._-]{0,49}$/)),
  "expected a slug: lower-case letters, digits, '.', '_' or '-', at most 50 characters",
)
const ModelName = expecting(
  Schema.String.pipe(Schema.filter(isModelName)),
  "expected a model name (1 to 200 characters, no surrounding spaces)",
)
const LogicalId = expecting(
  Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/)),
  "expected a model id: letters, digits, '.', '_', ':', '@' or '-' (no '/', which names a provider), at most 200 characters",
)
const Text = (max: number) =>
  expecting(Schema.String.pipe(Schema.maxLength(max)), `expected a string of at most ${max} characters`)
const NonEmptyText = (max: number) =>
  expecting(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(max)),
    `expected a non-empty string of at most ${max} characters`,
  )
const PositiveNumber = expecting(Schema.Number.pipe(Schema.finite(), Schema.positive()), "expected a number > 0")
const PositiveInt = expecting(Schema.Number.pipe(Schema.int(), Schema.positive()), "expected a whole number > 0")
const NonNegativeInt = expecting(Schema.Number.pipe(Schema.int(), Schema.nonNegative()), "expected a whole number ≥ 0")
const Bool = expecting(Schema.Boolean, "expected true or false")
const HttpStatus = expecting(
  Schema.Number.pipe(Schema.int(), Schema.between(100, 599)),
  "expected an HTTP status code (100 to 599)",
)
const UrlPath = expecting(
  Schema.String.pipe(Schema.pattern(/^\/\S*$/)),
  "expected a path starting with / (e.g. /v1/chat/completions)",
)
const EnvName = expecting(
  Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/)),
  "expected an environment variable name",
)
const HeaderValue = expecting(
  Schema.String.pipe(Schema.filter((s) => !/[\r\n\0]/.test(s))),
  "expected a header value (a string without line breaks)",
)
/** A type check that fails with `expected <what>` before the inner schema looks at the contents. */
const shaped = (guard: (u: unknown) => boolean, what: string) =>
  expecting(Schema.Unknown.pipe(Schema.filter(guard)), `expected ${what}`)
const isMap = (u: unknown): boolean => typeof u === "object" && u !== null && !Array.isArray(u)
const list = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.compose(shaped(Array.isArray, "a list"), Schema.Array(item), { strict: false })
const object = <F extends Schema.Struct.Fields>(fields: F, what: string) =>
  Schema.compose(shaped(isMap, what), Schema.Struct(fields), { strict: false })
const record = <A, I>(value: Schema.Schema<A, I>, key: Schema.Schema<string, string>, what: string) =>
  Schema.compose(shaped(isMap, what), Schema.Record({ key, value }), { strict: false })

const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })
const withDefault = <A, I>(schema: Schema.Schema<A, I>, value: () => NoInfer<A>) =>
  Schema.optionalWith(schema, { exact: true, default: value })

const Protocol = expecting(Schema.Literal("openai", "anthropic", "gemini"), "expected one of openai, anthropic, gemini")
const ProviderType = expecting(Schema.Literal("native", "aggregator"), "expected native or aggregator")
const Strategy = expecting(
  Schema.Literal("balanced", "latency_first", "cost_first", "reliability_first"),
  "expected one of balanced, latency_first, cost_first, reliability_first",
)

const KeyEntry = object(
  {
    value_env: optional(EnvName),
    value: optional(NonEmptyText(4096)),
    label: optional(NonEmptyText(50)),
    weight: withDefault(PositiveNumber, () => 1),
    max_qps: optional(PositiveInt),
  },
  "a key: { value_env: NAME } or { value: sk-... }",
)

const Paths = object(
  {
    models: optional(UrlPath),
    chat: optional(UrlPath),
    /** `null` disables the Responses endpoint for this provider. */
    responses: optional(expecting(Schema.NullOr(UrlPath), "expected a path starting with / or null")),
    messages: optional(UrlPath),
  },
  "a map of paths (models, chat, responses, messages)",
)

const ProviderEntry = object(
  {
    id: Slug,
    name: optional(NonEmptyText(255)),
    protocol: withDefault(Protocol, () => "openai" as const),
    base_url: HttpUrl,
    type: withDefault(ProviderType, () => "native" as const),
    weight: withDefault(PositiveNumber, () => 1),
    enabled: withDefault(Bool, () => true),
    ...ProviderSettingsFields,
    keys: withDefault(list(KeyEntry), () => []),
    models: optional(list(ModelName)),
    aliases: optional(record(ModelName, Schema.String, "a map of alias: model")),
    paths: optional(Paths),
    retryable_status: optional(list(HttpStatus)),
    headers: optional(record(HeaderValue, Schema.String, "a map of header: value")),
  },
  "a provider",
)

const UpstreamEntry = object(
  {
    provider: Slug,
    model: ModelName,
    weight: withDefault(PositiveNumber, () => 1),
    priority: withDefault(NonNegativeInt, () => 0),
  },
  "an upstream: { provider, model, weight, priority }",
)

const LogicalModelEntry = object(
  {
    id: LogicalId,
    name: optional(NonEmptyText(200)),
    description: optional(Text(10_000)),
    enabled: withDefault(Bool, () => true),
    strategy: withDefault(Strategy, () => "balanced" as const),
    upstreams: Schema.compose(
      shaped((u) => Array.isArray(u) && u.length > 0, "a non-empty list of upstreams"),
      Schema.Array(UpstreamEntry),
      { strict: false },
    ),
    ...PolicyFields,
  },
  "a logical model",
)

/** The file as written. Exported for tooling (e.g. a JSON Schema of the format). */
export const GatewayFileSchema = object(
  {
    prune: withDefault(Bool, () => false),
    providers: withDefault(list(ProviderEntry), () => []),
    logical_models: withDefault(list(LogicalModelEntry), () => []),
  },
  "a map with providers (and optionally logical_models, prune)",
)

export type GatewayFileInput = typeof GatewayFileSchema.Encoded
type Decoded = typeof GatewayFileSchema.Type

// ---------------------------------------------------------------------------------------------
// The resolved form

export interface FileProviderKey {
  readonly label: string
  readonly secret: Redacted.Redacted<string>
  /** Where the secret came from, for messages: the variable name, or "inline". */
  readonly source: { readonly env: string } | "inline"
  readonly weight: number
  readonly maxQps: number | null
}

export interface FileProvider extends ProviderCore {
  /** Region, costs, max_qps…: the settings the file sets (`shared/ProviderSettings.ts`). */
  readonly settings: ProviderSettings
  readonly keys: ReadonlyArray<FileProviderKey>
  /** `null`: discover at `paths.models`. */
  readonly models: ReadonlyArray<string> | null
  /** alias → the provider's model id. */
  readonly aliases: Readonly<Record<string, string>>
  /** Only the paths the file sets; the registry fills the rest from `defaultPaths(protocol)`. */
  readonly paths: Partial<ProviderPaths>
  readonly retryableStatus: ReadonlyArray<number> | null
  readonly headers: Readonly<Record<string, string>>
}

export interface FileLogicalModel {
  readonly id: string
  readonly name: string | null
  readonly description: string | null
  readonly enabled: boolean
  readonly strategy: RoutingStrategyName
  readonly upstreams: ReadonlyArray<{
    readonly provider: string
    readonly model: string
    readonly weight: number
    readonly priority: number
  }>
  /** Its own timeouts, retries and rescue setting, where they differ from the defaults. */
  readonly policy: LogicalModelPolicy
}

export interface GatewayFile {
  /** Delete providers and logical models that are in the database but not in the file. */
  readonly prune: boolean
  readonly providers: ReadonlyArray<FileProvider>
  readonly logicalModels: ReadonlyArray<FileLogicalModel>
}

// ---------------------------------------------------------------------------------------------
// Error paths

/** `["providers", 1, "base_url"]` → `providers[1].base_url`. */
export const formatPath = (segments: ReadonlyArray<PropertyKey>): string =>
  segments.reduce<string>((acc, segment) => {
    if (typeof segment === "number") return `${acc}[${segment}]`
    const name = String(segment)
    const plain = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)
    if (!plain) return `${acc}[${JSON.stringify(name)}]`
    return acc === "" ? name : `${acc}.${name}`
  }, "")

const describeIssue = (issue: ParseResult.ArrayFormatterIssue): string => {
  switch (issue._tag) {
    case "Missing":
      return "is required"
    case "Unexpected":
      return "unknown field"
    default:
      return issue.message
  }
}

/** A problem at `path` in the file (before its position is looked up). */
interface Located {
  readonly path: ReadonlyArray<PropertyKey>
  readonly what: string
}

const textOf = (problem: Located): string =>
  `${problem.path.length === 0 ? "(root)" : formatPath(problem.path)}: ${problem.what}`

/** Every Schema issue, at its path (the whole file is `(root)`). */
const schemaProblems = (error: ParseResult.ParseError): Array<Located> => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issues.length === 0) return [{ path: [], what: error.message }]
  return issues.map((issue) => ({ path: issue.path, what: describeIssue(issue) }))
}

/** The first Schema issue as `path: message` (the whole file is `(root)`). */
export const formatParseError = (error: ParseResult.ParseError): string => textOf(schemaProblems(error)[0]!)

// ---------------------------------------------------------------------------------------------
// Parsing

export type GatewayFileFormat = "yaml" | "json"

export const formatOf = (file: string): GatewayFileFormat =>
  path.extname(file).toLowerCase() === ".json" ? "json" : "yaml"

interface ParsedText {
  readonly value: unknown
  /** Where each path of the file is (JSON is YAML, so both formats have one). */
  readonly locate: (path: ReadonlyArray<PropertyKey>) => { readonly line: number; readonly column: number } | undefined
}

/** The `yaml` package, imported when a file is first parsed: a gateway without `GATEWAY_CONFIG` never loads it. */
type YamlModule = typeof YAML
const loadYaml = Effect.promise(async (): Promise<YamlModule> => {
  // The package is CommonJS: Node's import gives its exports by name and as `default`, the bundle's only as `default`.
  const module = (await import("yaml")) as YamlModule & { readonly default?: YamlModule }
  return module.default ?? module
})

/** The position of `path` in `doc`: its node, else the nearest enclosing one that exists. */
const locator =
  (Yaml: YamlModule, doc: YAML.Document, lines: YAML.LineCounter) => (path: ReadonlyArray<PropertyKey>) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as Array<unknown>, true)
      const offset = Yaml.isNode(node) ? node.range?.[0] : undefined
      if (offset !== undefined) {
        const at = lines.linePos(offset)
        return { line: at.line, column: at.col }
      }
    }
    return undefined
  }

const parseText = (
  Yaml: YamlModule,
  text: string,
  format: GatewayFileFormat,
): Either.Either<ParsedText, ReadonlyArray<GatewayFileProblem>> => {
  const lines = new Yaml.LineCounter()
  const doc = Yaml.parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines })
  const locate = locator(Yaml, doc, lines)
  if (format === "json") {
    try {
      return Either.right({ value: JSON.parse(text), locate })
    } catch {
      // JSON.parse quotes the text around the error, which may hold a key: report a position only,
      // borrowed from the YAML parser (JSON is YAML) when it also trips over the text.
      const at = doc.errors[0]?.linePos?.[0]
      return Either.left([
        at === undefined ? { text: "invalid JSON" } : { text: "invalid JSON", line: at.line, column: at.col },
      ])
    }
  }
  if (doc.errors.length > 0) {
    return Either.left(
      doc.errors.map((problem) => {
        const at = problem.linePos?.[0]
        const what = problem.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")
        return at === undefined
          ? { text: `invalid YAML: ${what}` }
          : { text: `invalid YAML: ${what}`, line: at.line, column: at.col }
      }),
    )
  }
  // An empty file is an empty configuration, not an error.
  return Either.right({ value: doc.toJS() ?? {}, locate })
}

const stripTrailingSlashes = (url: string): string => url.replace(/\/+$/, "")

/** Checks the Schema cannot express: uniqueness and references inside the file. Every problem, in file order. */
const checkConsistency = (file: Decoded): Array<Located> => {
  const problems: Array<Located> = []
  const providerIndex = new Map<string, number>()
  for (const [i, provider] of file.providers.entries()) {
    const seen = providerIndex.get(provider.id)
    if (seen !== undefined)
      problems.push({
        path: ["providers", i, "id"],
        what: `duplicate provider id "${provider.id}" (also providers[${seen}])`,
      })
    else providerIndex.set(provider.id, i)

    const labels = new Map<string, number>()
    for (const [k, key] of provider.keys.entries()) {
      if ((key.value === undefined) === (key.value_env === undefined)) {
        problems.push({ path: ["providers", i, "keys", k], what: "expected exactly one of value_env or value" })
        continue
      }
      const label = keyLabel(key, k)
      const before = labels.get(label)
      if (before !== undefined) {
        problems.push({
          path: ["providers", i, "keys", k, "label"],
          what: `duplicate key label "${label}" (also providers[${i}].keys[${before}]); labels identify keys across imports`,
        })
      } else labels.set(label, k)
    }

    for (const name of Object.keys(provider.headers ?? {})) {
      if (!isHeaderName(name))
        problems.push({ path: ["providers", i, "headers", name], what: "expected an HTTP header name" })
    }

    // provider_models has one alias column per model.
    const aliasOf = new Map<string, string>()
    for (const [alias, model] of Object.entries(provider.aliases ?? {})) {
      if (!isModelName(alias) || alias.includes("/")) {
        problems.push({
          path: ["providers", i, "aliases", alias],
          what: "expected an alias name (no '/', no surrounding spaces)",
        })
        continue
      }
      const other = aliasOf.get(model)
      if (other !== undefined)
        problems.push({
          path: ["providers", i, "aliases", alias],
          what: `model "${model}" already has the alias "${other}" (one alias per model)`,
        })
      else aliasOf.set(model, alias)
    }
  }

  const logicalIndex = new Map<string, number>()
  for (const [i, logical] of file.logical_models.entries()) {
    const seen = logicalIndex.get(logical.id)
    if (seen !== undefined)
      problems.push({
        path: ["logical_models", i, "id"],
        what: `duplicate logical model id "${logical.id}" (also logical_models[${seen}])`,
      })
    else logicalIndex.set(logical.id, i)
    const pairs = new Set<string>()
    for (const [u, upstream] of logical.upstreams.entries()) {
      const pair = `${upstream.provider}/${upstream.model}`
      if (pairs.has(pair))
        problems.push({ path: ["logical_models", i, "upstreams", u], what: `duplicate upstream ${pair}` })
      pairs.add(pair)
    }
  }
  return problems
}

const keyLabel = (key: { readonly label?: string; readonly value_env?: string }, index: number): string =>
  key.label ?? (key.value_env !== undefined ? key.value_env.toLowerCase().slice(0, 50) : `key-${index + 1}`)

/** Reads one `value_env` through the current ConfigProvider (the process env in production). */
const readEnv = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Effect.map(Option.filter((value) => value.trim() !== "")),
    // A malformed provider cannot happen for a plain string; treat any failure as "not set".
    Effect.orElseSucceed(() => Option.none<string>()),
  )

/** The file with its `value_env` keys read; every variable that is not set is a problem. */
const resolve = Effect.fn("GatewayFile.resolve")(function* (file: Decoded) {
  const missing: Array<Located> = []
  const providers: Array<FileProvider> = []
  for (const [i, p] of file.providers.entries()) {
    const keys: Array<FileProviderKey> = []
    for (const [k, key] of p.keys.entries()) {
      let secret: Redacted.Redacted<string>
      let source: FileProviderKey["source"]
      if (key.value_env !== undefined) {
        const value = yield* readEnv(key.value_env)
        if (Option.isNone(value)) {
          missing.push({
            path: ["providers", i, "keys", k, "value_env"],
            what: `environment variable ${key.value_env} is not set`,
          })
          continue
        }
        secret = Redacted.make(value.value.trim())
        source = { env: key.value_env }
      } else {
        secret = Redacted.make(key.value!.trim())
        source = "inline"
      }
      keys.push({ label: keyLabel(key, k), secret, source, weight: key.weight, maxQps: key.max_qps ?? null })
    }
    const paths: { -readonly [K in keyof ProviderPaths]?: ProviderPaths[K] } = {}
    if (p.paths?.models !== undefined) paths.models = p.paths.models
    if (p.paths?.chat !== undefined) paths.chat = p.paths.chat
    if (p.paths?.responses !== undefined) paths.responses = p.paths.responses
    if (p.paths?.messages !== undefined) paths.messages = p.paths.messages
    providers.push({
      id: p.id,
      name: p.name ?? p.id,
      protocol: p.protocol,
      baseUrl: stripTrailingSlashes(p.base_url),
      type: p.type,
      weight: p.weight,
      enabled: p.enabled,
      settings: settingsOf(p),
      keys,
      models: p.models === undefined ? null : [...new Set(p.models)],
      aliases: { ...(p.aliases ?? {}) },
      paths,
      retryableStatus: p.retryable_status === undefined ? null : [...new Set(p.retryable_status)].sort((a, b) => a - b),
      headers: { ...(p.headers ?? {}) },
    })
  }
  const logicalModels: Array<FileLogicalModel> = file.logical_models.map((m) => ({
    id: m.id,
    name: m.name ?? null,
    description: m.description ?? null,
    enabled: m.enabled,
    strategy: m.strategy,
    upstreams: m.upstreams.map((u) => ({
      provider: u.provider,
      model: u.model,
      weight: u.weight,
      priority: u.priority,
    })),
    policy: policyOf(m),
  }))
  if (missing.length > 0) return yield* Effect.fail(missing)
  return { prune: file.prune, providers, logicalModels } satisfies GatewayFile
})

/**
 * Parses and validates the file's text. `file` only names the source in errors.
 * Upstreams may name providers missing from the file; check them with `checkUpstreamProviders`.
 */
export const parseGatewayFile = Effect.fn("GatewayFile.parse")(function* (
  text: string,
  options: { readonly file: string; readonly format?: GatewayFileFormat },
) {
  const parsed = parseText(yield* loadYaml, text, options.format ?? formatOf(options.file))
  if (Either.isLeft(parsed)) return yield* new GatewayFileError({ file: options.file, problems: parsed.left })
  const { value, locate } = parsed.right
  /** Every problem, in the order of the file. */
  const fail = (problems: ReadonlyArray<Located>) =>
    new GatewayFileError({
      file: options.file,
      problems: problems
        .map((problem): GatewayFileProblem => ({ text: textOf(problem), ...locate(problem.path) }))
        .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)),
    })
  const decoded = Schema.decodeUnknownEither(GatewayFileSchema, { errors: "all", onExcessProperty: "error" })(value)
  if (Either.isLeft(decoded)) return yield* fail(schemaProblems(decoded.left))
  const inconsistencies = checkConsistency(decoded.right)
  if (inconsistencies.length > 0) return yield* fail(inconsistencies)
  return yield* resolve(decoded.right).pipe(Effect.mapError(fail))
})

/**
 * Every logical-model upstream must name a provider of the file or one that already exists
 * in the database (created through the management API). With `prune: true` only the file
 * counts, since the others are about to be deleted.
 */
export const checkUpstreamProviders = (
  file: GatewayFile,
  existingProviderIds: ReadonlySet<string>,
): string | undefined => {
  const inFile = new Set(file.providers.map((p) => p.id))
  for (const [i, logical] of file.logicalModels.entries()) {
    for (const [u, upstream] of logical.upstreams.entries()) {
      if (inFile.has(upstream.provider)) continue
      if (!file.prune && existingProviderIds.has(upstream.provider)) continue
      const hint =
        file.prune && existingProviderIds.has(upstream.provider)
          ? " (prune: true removes providers missing from the file)"
          : ""
      return `logical_models[${i}].upstreams[${u}].provider: unknown provider "${upstream.provider}"${hint}`
    }
  }
  return undefined
}

/** The text of the file at `file`; a file that is missing or unreadable is a GatewayFileError naming its path. */
export const readGatewayFileText = (file: string): Effect.Effect<string, GatewayFileError> =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (e) =>
      gatewayFileError(
        file,
        (e as NodeJS.ErrnoException).code === "ENOENT"
          ? `file not found (named by GATEWAY_CONFIG; looked for ${path.resolve(file)})`
          : `cannot read (GATEWAY_CONFIG): ${(e as Error).message}`,
      ),
  })

/** Reads and parses the file at `file` (YAML, or JSON for a `.json` name). */
export const loadGatewayFile = Effect.fn("GatewayFile.load")(function* (file: string) {
  return yield* parseGatewayFile(yield* readGatewayFileText(file), { file })
})
