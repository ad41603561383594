import { Config, ConfigError, Either, Option, Redacted } from "effect"

/**
 * Tracing from the standard OpenTelemetry variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/), read
 * through `Config` like the rest of the environment. Tracing is on when an OTLP endpoint is set
 * (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`) and
 * neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none` turns it off. What the
 * exporter cannot do is refused at start rather than ignored: gRPC, another exporter, a sampler
 * the SDK does not ship, a malformed header list.
 */

export const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const
export type SamplerName = (typeof SAMPLERS)[number]

export interface TracingSettings {
  /** Where spans are posted (OTLP over HTTP, JSON encoding). */
  readonly url: string
  /** Extra export request headers (often a backend's API key). */
  readonly headers: Redacted.Redacted<Readonly<Record<string, string>>>
  /** How long one export may take, its retries included (`OTEL_EXPORTER_OTLP_TIMEOUT`, ms; the exporter's 10 s when unset). */
  readonly timeoutMillis: number | undefined
  readonly sampler: SamplerName
  /** The ratio of the `*traceidratio` samplers, in [0, 1]. */
  readonly samplerRatio: number
  /** The batch span processor: `OTEL_BSP_*`, the SDK's defaults where unset. */
  readonly batch: {
    readonly scheduledDelayMillis?: number
    readonly exportTimeoutMillis?: number
    readonly maxQueueSize?: number
    readonly maxExportBatchSize?: number
  }
}

const optionalText = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Config.map(Option.map((s) => s.trim())),
    Config.map(Option.filter((s) => s !== "")),
  )

const optionalCount = (name: string, minimum: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: `expected a whole number ≥ ${minimum}`, validation: (n) => n >= minimum }),
    Config.option,
  )

/** The traces-specific variable when it is set, else the general one. */
const signalFirst = <A>(specific: Config.Config<Option.Option<A>>, general: Config.Config<Option.Option<A>>) =>
  Config.all([specific, general]).pipe(Config.map(([own, common]) => Option.orElse(own, () => common)))

const invalid = (name: string, message: string) => ConfigError.InvalidData([name], message)

/** An OTLP/HTTP URL: http or https, nothing else. */
const httpUrl = (name: string, value: string): Either.Either<string, ConfigError.ConfigError> => {
  try {
    const url = new URL(value)
    if (url.protocol === "http:" || url.protocol === "https:") return Either.right(url.toString())
  } catch {
    // Falls through to the error below.
  }
  return Either.left(invalid(name, "expected an http(s) URL"))
}

/** The traces endpoint: the signal's own as given, else the base endpoint with `v1/traces` appended. */
const tracesUrl = (specific: Option.Option<string>, base: Option.Option<string>) => {
  if (Option.isSome(specific)) return Option.some(httpUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", specific.value))
  if (Option.isSome(base)) {
    return Option.some(
      Either.flatMap(httpUrl("OTEL_EXPORTER_OTLP_ENDPOINT", base.value), (url) =>
        httpUrl("OTEL_EXPORTER_OTLP_ENDPOINT", url.endsWith("/") ? `${url}v1/traces` : `${url}/v1/traces`),
      ),
    )
  }
  return Option.none()
}

/** Header values go on the wire as they are: no line breaks or other control characters. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\uffff]*$/

/** `name=value,name=value` with percent-encoded values (the spec's format for `OTEL_EXPORTER_OTLP_HEADERS`). */
export const parseHeaderList = (
  name: string,
  text: string,
): Either.Either<Record<string, string>, ConfigError.ConfigError> => {
  const headers: Record<string, string> = {}
  for (const entry of text.split(",")) {
    if (entry.trim() === "") continue
    const equals = entry.indexOf("=")
    const key = equals < 0 ? "" : entry.slice(0, equals).trim()
    if (!HEADER_NAME.test(key)) return Either.left(invalid(name, "expected name=value pairs separated by commas"))
    let value: string
    try {
      value = decodeURIComponent(entry.slice(equals + 1).trim())
    } catch {
      return Either.left(invalid(name, `the value of ${key} has a malformed % escape`))
    }
    if (!HEADER_VALUE.test(value)) return Either.left(invalid(name, `the value of ${key} holds a control character`))
    headers[key.toLowerCase()] = value
  }
  return Either.right(headers)
}

const raw = Config.all({
  disabled: Config.boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
  exporter: optionalText("OTEL_TRACES_EXPORTER"),
  protocol: signalFirst(
    optionalText("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
    optionalText("OTEL_EXPORTER_OTLP_PROTOCOL"),
  ),
  specificEndpoint: optionalText("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  endpoint: optionalText("OTEL_EXPORTER_OTLP_ENDPOINT"),
  headers: Config.redacted("OTEL_EXPORTER_OTLP_HEADERS").pipe(Config.option),
  specificHeaders: Config.redacted("OTEL_EXPORTER_OTLP_TRACES_HEADERS").pipe(Config.option),
  timeout: signalFirst(
    optionalCount("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", 1),
    optionalCount("OTEL_EXPORTER_OTLP_TIMEOUT", 1),
  ),
  sampler: Config.literal(...SAMPLERS)("OTEL_TRACES_SAMPLER").pipe(
    Config.withDefault("parentbased_always_on" as const),
  ),
  samplerArg: Config.number("OTEL_TRACES_SAMPLER_ARG").pipe(
    Config.validate({ message: "expected a ratio between 0 and 1", validation: (n) => n >= 0 && n <= 1 }),
    Config.withDefault(1),
  ),
  scheduledDelayMillis: optionalCount("OTEL_BSP_SCHEDULE_DELAY", 0),
  exportTimeoutMillis: optionalCount("OTEL_BSP_EXPORT_TIMEOUT", 1),
  maxQueueSize: optionalCount("OTEL_BSP_MAX_QUEUE_SIZE", 1),
  maxExportBatchSize: optionalCount("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1),
})

const batchOf = (config: Config.Config.Success<typeof raw>): TracingSettings["batch"] => {
  const batch: { -readonly [K in keyof TracingSettings["batch"]]: TracingSettings["batch"][K] } = {}
  if (Option.isSome(config.scheduledDelayMillis)) batch.scheduledDelayMillis = config.scheduledDelayMillis.value
  if (Option.isSome(config.exportTimeoutMillis)) batch.exportTimeoutMillis = config.exportTimeoutMillis.value
  if (Option.isSome(config.maxQueueSize)) batch.maxQueueSize = config.maxQueueSize.value
  if (Option.isSome(config.maxExportBatchSize)) batch.maxExportBatchSize = config.maxExportBatchSize.value
  return batch
}

const headerListOf = (name: string, value: Option.Option<Redacted.Redacted<string>>) =>
  Option.isNone(value) ? Either.right({}) : parseHeaderList(name, Redacted.value(value.value))

/** The tracing settings, or `undefined` when tracing is off (the default). */
export const tracingConfig: Config.Config<TracingSettings | undefined> = Config.mapOrFail(raw, (config) => {
  const exporter = config.exporter.pipe(Option.map((s) => s.toLowerCase()))
  if (Option.isSome(exporter) && exporter.value !== "otlp" && exporter.value !== "none") {
    return Either.left(
      invalid("OTEL_TRACES_EXPORTER", "expected otlp or none (spans are exported over OTLP/HTTP only)"),
    )
  }
  const url = tracesUrl(config.specificEndpoint, config.endpoint)
  if (config.disabled || Option.getOrUndefined(exporter) === "none" || Option.isNone(url))
    return Either.right(undefined)
  const protocol = Option.getOrUndefined(config.protocol)
  if (protocol !== undefined && protocol !== "http/json" && protocol !== "http/protobuf") {
    return Either.left(
      invalid(
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "expected http/json or http/protobuf: spans are sent over OTLP/HTTP (JSON), not gRPC",
      ),
    )
  }
  return Either.flatMap(url.value, (tracesEndpoint) =>
    Either.flatMap(headerListOf("OTEL_EXPORTER_OTLP_HEADERS", config.headers), (common) =>
      Either.map(headerListOf("OTEL_EXPORTER_OTLP_TRACES_HEADERS", config.specificHeaders), (specific) => ({
        url: tracesEndpoint,
        headers: Redacted.make({ ...common, ...specific }),
        timeoutMillis: Option.getOrUndefined(config.timeout),
        sampler: config.sampler,
        samplerRatio: config.samplerArg,
        batch: batchOf(config),
      })),
    ),
  )
})
