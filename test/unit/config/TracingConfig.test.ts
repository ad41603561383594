import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Redacted } from "effect"
import { tracingConfig } from "../../../src/config/TracingConfig.js"

/** The tracing settings the standard OTel variables give, or the message of the config error. */
const read = (env: Record<string, string>) =>
  Effect.runSync(
    Effect.either(tracingConfig).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.map(Either.mapLeft(String)),
    ),
  )

const settings = (env: Record<string, string>) => {
  const result = read(env)
  if (Either.isLeft(result)) throw new Error(result.left)
  return result.right
}

const failure = (env: Record<string, string>) => {
  const result = read(env)
  if (Either.isRight(result)) throw new Error("expected a config error")
  return result.left
}

describe("TracingConfig: the standard OpenTelemetry variables", () => {
  it("is off without an endpoint, and when the SDK or the traces exporter is turned off", () => {
    expect(settings({})).toBeUndefined()
    expect(settings({ OTEL_SERVICE_NAME: "x", OTEL_TRACES_SAMPLER: "always_on" })).toBeUndefined()
    expect(
      settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SDK_DISABLED: "true" }),
    ).toBeUndefined()
    expect(
      settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_TRACES_EXPORTER: "none" }),
    ).toBeUndefined()
  })

  it("appends /v1/traces to the base endpoint, and takes the traces endpoint as it is", () => {
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })?.url).toBe(
      "http://collector:4318/v1/traces",
    )
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://otlp.example/base/" })?.url).toBe(
      "https://otlp.example/base/v1/traces",
    )
    expect(
      settings({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/custom/path",
      })?.url,
    ).toBe("http://collector:4318/custom/path")
  })

  it("merges the header lists, the traces one winning, with percent-encoded values decoded", () => {
    const headers = settings({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Basic%20abc, x-team = core ,",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-team=traces",
    })?.headers
    expect(Redacted.value(headers!)).toEqual({ authorization: "Basic abc", "x-team": "traces" })
    // A secret in the headers never shows in the settings as printed.
    expect(String(headers)).not.toContain("abc")
  })

  it("the traces-specific timeout and protocol win over the general ones", () => {
    const both = settings({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      OTEL_EXPORTER_OTLP_TIMEOUT: "5000",
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "250",
    })
    expect(both?.timeoutMillis).toBe(250)
    expect(
      settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_TIMEOUT: "5000" })?.timeoutMillis,
    ).toBe(5000)
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })?.timeoutMillis).toBeUndefined()
    expect(
      failure({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc",
      }),
    ).toContain("gRPC")
    expect(
      settings({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
      }),
    ).toBeDefined()
  })

  it("reads the sampler and its ratio, and the batch processor's settings", () => {
    const s = settings({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_BSP_MAX_QUEUE_SIZE: "512",
    })
    expect(s).toMatchObject({
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.25,
      batch: { scheduledDelayMillis: 100, maxQueueSize: 512 },
    })
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toMatchObject({
      sampler: "parentbased_always_on",
      samplerRatio: 1,
      batch: {},
    })
  })

  it("refuses at start what it cannot do, naming the variable", () => {
    expect(failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toContain("OTEL_EXPORTER_OTLP_ENDPOINT")
    expect(failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://collector" })).toContain("http(s) URL")
    expect(failure({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" })).toContain("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    expect(failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "zipkin" })).toContain(
      "OTEL_TRACES_EXPORTER",
    )
    expect(failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_SAMPLER: "jaeger_remote" })).toContain(
      "OTEL_TRACES_SAMPLER",
    )
    expect(failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_SAMPLER_ARG: "1.5" })).toContain(
      "OTEL_TRACES_SAMPLER_ARG",
    )
    expect(failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_HEADERS: "novalue" })).toContain(
      "OTEL_EXPORTER_OTLP_HEADERS",
    )
    expect(
      failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_HEADERS: "x=%E0%A4%A" }),
    ).toContain("malformed % escape")
    expect(
      failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_HEADERS: "x=a%0D%0Ainjected: 1" }),
    ).toContain("control character")
    expect(failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_BSP_SCHEDULE_DELAY: "-1" })).toContain(
      "OTEL_BSP_SCHEDULE_DELAY",
    )
  })
})
