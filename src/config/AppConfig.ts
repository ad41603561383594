import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Config, Duration, Effect, Option, Redacted, Schema } from "effect"
import { durationConfig } from "../shared/DurationConfig.js"
import { DEFAULT_DATA_DIR } from "./DataDir.js"

/** Well-known placeholder secrets, refused when NODE_ENV=production. */
export const DEFAULT_SECRET_KEY = "please-change-me"

const DEFAULT_USER_AGENT =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

const optionalString = (name: string) =>
  Config.string(name).pipe(Config.option, Config.map(Option.filter((s) => s.trim() !== "")))

const optionalRedacted = (name: string) => optionalString(name).pipe(Config.map(Option.map((s) => Redacted.make(s))))

const millis = (name: string, fallback: string) =>
  durationConfig(name).pipe(Config.withDefault(Duration.decode(fallback as Duration.DurationInput)))

/** A whole number ≥ 0 (or > 0 with `positive`), `fallback` when unset. */
const wholeNumber = (
  name: string,
  fallback: number,
  options: { readonly positive?: boolean; readonly what?: string } = {},
) =>
  Config.integer(name).pipe(
    Config.validate({
      message:
        options.positive === true
          ? `expected a positive ${options.what ?? "whole number"}`
          : `expected a ${options.what ?? "whole number"} ≥ 0`,
      validation: (n) => (options.positive === true ? n > 0 : n >= 0),
    }),
    Config.withDefault(fallback),
  )

/** `postgres://` or `postgresql://`: the only database the gateway speaks (a `mysql://` URL must not be tried as Postgres). */
const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url.trim())

const databaseUrl = Config.string("DATABASE_URL").pipe(
  Config.validate({
    message:
      "expected a PostgreSQL URL (postgres://user:password@host:5432/database); APIProxy stores its data in PostgreSQL only — unset it for the embedded database",
    validation: (url) => url.trim() === "" || isPostgresUrl(url),
  }),
  Config.option,
  Config.map(Option.filter((url) => url.trim() !== "")),
  Config.map(Option.map((url) => Redacted.make(url.trim()))),
)

const port = Config.integer("PORT").pipe(
  Config.validate({ message: "expected an integer between 0 and 65535", validation: (n) => n >= 0 && n <= 65535 }),
  Config.withDefault(8000),
)

const logLevel = Config.literal(
  "TRACE",
  "DEBUG",
  "INFO",
  "WARNING",
  "WARN",
  "ERROR",
  "FATAL",
  "NONE",
)("LOG_LEVEL").pipe(Config.withDefault("INFO" as const))

const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

const timezone = Config.string("LOG_TIMEZONE").pipe(
  Config.validate({
    message: "expected an IANA time zone such as Europe/Berlin",
    validation: (zone) => zone.trim() === "" || isTimeZone(zone.trim()),
  }),
  Config.option,
  Config.map(Option.filter((zone) => zone.trim() !== "")),
)

/** Defaults of the shutdown settings, shared with `Cli.ts`'s exit timer (read before the layers). */
export const SHUTDOWN_GRACE_DEFAULT = "10 seconds"
export const SHUTDOWN_DRAIN_DEFAULT = "0 seconds"

export const appConfig = Config.all({
  port,
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  production: Config.string("NODE_ENV").pipe(
    Config.withDefault("development"),
    Config.map((env) => env === "production"),
  ),
  databaseUrl,
  dataDir: Config.string("DATA_DIR").pipe(Config.withDefault(DEFAULT_DATA_DIR)),
  redisUrl: optionalRedacted("REDIS_URL"),
  /** Prefix of every KV key; lets tests and tenants share one Redis. */
  kvPrefix: Config.string("KV_PREFIX").pipe(Config.withDefault("apiproxy:")),
  secretKey: optionalRedacted("SECRET_KEY"),
  /** The secret before the last rotation: still accepted for decryption and hash checks (dual-read). */
  secretKeyPrevious: optionalRedacted("SECRET_KEY_PREVIOUS"),
  gatewayConfig: optionalString("GATEWAY_CONFIG"),
  /** Re-import GATEWAY_CONFIG when it changes on disk (registry/GatewayFileReload). */
  gatewayConfigWatch: Config.boolean("GATEWAY_CONFIG_WATCH").pipe(Config.withDefault(true)),
  masterKey: optionalRedacted("GATEWAY_MASTER_KEY"),
  modelsCacheTtl: Config.integer("MODELS_CACHE_TTL").pipe(
    Config.validate({ message: "expected a whole number of seconds ≥ 0", validation: (n) => n >= 0 }),
    Config.withDefault(300),
    Config.map((s) => Duration.seconds(s)),
  ),
  mask: Config.all({
    asBrowser: Config.boolean("MASK_AS_BROWSER").pipe(Config.withDefault(true)),
    userAgent: Config.string("MASK_USER_AGENT").pipe(Config.withDefault(DEFAULT_USER_AGENT)),
    origin: optionalString("MASK_ORIGIN"),
    referer: optionalString("MASK_REFERER"),
  }),
  logLevel,
  logTimezone: timezone,
  upstream: Config.all({
    connectTimeout: millis("UPSTREAM_CONNECT_TIMEOUT", "10 seconds"),
    headersTimeout: millis("UPSTREAM_HEADERS_TIMEOUT", "120 seconds"),
    /** A stream's time to its first token, the wait for headers included: a silent route is left for the next candidate. */
    firstTokenTimeout: millis("UPSTREAM_FIRST_TOKEN_TIMEOUT", "15 seconds"),
    idleTimeout: millis("UPSTREAM_IDLE_TIMEOUT", "60 seconds"),
    requestDeadline: millis("UPSTREAM_REQUEST_DEADLINE", "600 seconds"),
    /** Continuations a broken stream may get (mid-stream rescue); 0 turns rescue off. */
    midStreamRescues: wholeNumber("MIDSTREAM_RESCUES", 2),
    discoveryTimeout: millis("UPSTREAM_DISCOVERY_TIMEOUT", "5 seconds"),
    /** An idle pooled connection is closed after this long (a provider's `Keep-Alive: timeout` may extend it up to the max). */
    keepAliveTimeout: millis("UPSTREAM_KEEPALIVE_TIMEOUT", "10 seconds"),
    keepAliveMaxTimeout: millis("UPSTREAM_KEEPALIVE_MAX_TIMEOUT", "60 seconds"),
    /** Connections per provider origin; requests beyond wait for a free one. 0: no limit. */
    maxConnectionsPerOrigin: wholeNumber("UPSTREAM_MAX_CONNECTIONS", 1024),
  }),
  bodyLimitBytes: wholeNumber("BODY_LIMIT_BYTES", 10 * 1024 * 1024, { positive: true, what: "number of bytes" }),
  /** Largest multipart upload of `/v1/audio/transcriptions` and `/v1/audio/translations` (OpenAI's own limit: 25 MB); 413 beyond. */
  audioBodyLimitBytes: wholeNumber("AUDIO_BODY_LIMIT_BYTES", 25 * 1024 * 1024, {
    positive: true,
    what: "number of bytes",
  }),
  /** Largest body of every other route (management API, /v1/models, …): 413 beyond it. */
  managementBodyLimitBytes: wholeNumber("MANAGEMENT_BODY_LIMIT_BYTES", 1024 * 1024, {
    positive: true,
    what: "number of bytes",
  }),
  /** Until a request's headers are complete (slowloris); 0: no limit. */
  headersTimeout: millis("HEADERS_TIMEOUT", "15 seconds"),
  /** Until a whole request, headers and body, is received (never the response); 0: no limit. */
  requestTimeout: millis("REQUEST_TIMEOUT", "60 seconds"),
  /** Open connections per client address (the socket's); more are closed at once. 0: no limit. */
  maxConnectionsPerClient: wholeNumber("MAX_CONNECTIONS_PER_CLIENT", 256),
  shutdownGrace: millis("SHUTDOWN_GRACE", SHUTDOWN_GRACE_DEFAULT),
  /**
   * On SIGTERM, how long to keep serving with `/health` failing (and every answer closing its
   * connection) before the listener closes: a load balancer's health checks take the instance
   * out of rotation first. 0: close at once (one instance, nothing to tell).
   */
  shutdownDrain: millis("SHUTDOWN_DRAIN", SHUTDOWN_DRAIN_DEFAULT),
  /**
   * `POST /auth/register` creates (never superuser) accounts only when this is on: off by
   * default, so nobody can sign up on a gateway whose operator did not ask for it.
   */
  allowRegistration: Config.boolean("ALLOW_REGISTRATION").pipe(Config.withDefault(false)),
  /** Failed password logins per account and client address within 15 minutes before a pause; 0: no limit. */
  loginMaxFailures: wholeNumber("LOGIN_MAX_FAILURES", 5),
  /** Days of `usage_minutes` kept; older rows are deleted hourly. 0: kept forever. */
  usageRetentionDays: Config.integer("USAGE_RETENTION_DAYS").pipe(
    Config.validate({ message: "expected a whole number of days ≥ 0", validation: (n) => n >= 0 }),
    Config.withDefault(90),
  ),
  /** Stored Responses (`store: true`): days kept, 0 = forever; expired ones are not served and are deleted hourly. */
  responsesRetentionDays: wholeNumber("RESPONSES_RETENTION_DAYS", 30, { what: "whole number of days" }),
  /** The most one stored response may hold (its input items, earlier turns included, and its output). */
  responsesMaxBytes: wholeNumber("RESPONSES_MAX_BYTES", 1024 * 1024, { positive: true, what: "number of bytes" }),
  /**
   * The request log (`request_log`, usage/RequestLogWriter): on or off, the most rows held in
   * memory while the database is slow or away (beyond them rows are dropped and counted), days
   * kept (0: forever).
   */
  requestLog: Config.all({
    enabled: Config.literal(
      "on",
      "off",
    )("REQUEST_LOG").pipe(
      Config.withDefault("on" as const),
      Config.map((v) => v === "on"),
    ),
    bufferRows: wholeNumber("REQUEST_LOG_BUFFER_ROWS", 10_000, { positive: true, what: "number of rows" }),
    bufferBodyChars: wholeNumber("REQUEST_LOG_BUFFER_BODY_CHARS", 32 * 1024 * 1024, {
      positive: true,
      what: "number of characters",
    }),
    retentionDays: wholeNumber("REQUEST_LOG_RETENTION_DAYS", 30, { what: "whole number of days" }),
  }),
  /**
   * `GET /metrics` (Prometheus): `master` — only the master key or a superuser's API key may read
   * it; `open` — no credential (for a scrape on a private network); `off` — 404, and nothing is counted.
   */
  metrics: Config.literal("open", "master", "off")("METRICS").pipe(Config.withDefault("master" as const)),
  /** Behind a reverse proxy: take the client address from the first `X-Forwarded-For` entry. */
  trustProxy: Config.boolean("TRUST_PROXY").pipe(Config.withDefault(false)),
})

type RawConfig = Config.Config.Success<typeof appConfig>

export type AppConfigShape = Omit<RawConfig, "secretKey"> & {
  readonly secretKey: Redacted.Redacted<string>
  /** Where the secret came from (logged once at start, never the value). */
  readonly secretKeySource: SecretKeySource
}

/** SECRET_KEY from the environment, or `${DATA_DIR}/secret.key`: generated at this start, or read from an earlier one. */
export type SecretKeySource =
  | { readonly _tag: "Env" }
  | { readonly _tag: "File"; readonly file: string; readonly generated: boolean }

/** One line for the start-up log: where the secret came from, never the secret. */
export const describeSecretKeySource = (source: SecretKeySource): string =>
  source._tag === "Env"
    ? "secret: SECRET_KEY from the environment"
    : source.generated
      ? `secret: SECRET_KEY not set; generated a new secret and saved it to ${source.file} (keep this file, or set SECRET_KEY to its contents; every instance sharing a database needs the same secret)`
      : `secret: SECRET_KEY not set; using the secret saved in ${source.file}`

const SECRET_FILE = "secret.key"

/**
 * SECRET_KEY from the environment; without it, a random secret generated once and kept in
 * `${DATA_DIR}/secret.key` (mode 0600), so a fresh checkout runs without setup and restarts keep
 * decrypting. Refused in production: a placeholder or short secret, and a missing one when the
 * database is shared (DATABASE_URL), where every instance must use the same secret.
 */
const resolveSecretKey = (config: RawConfig) =>
  Effect.gen(function* () {
    if (Option.isSome(config.secretKey)) {
      const secret = Redacted.value(config.secretKey.value)
      if (config.production && (secret === DEFAULT_SECRET_KEY || secret.length < 32)) {
        return yield* new InsecureSecretKey({
          message: "SECRET_KEY: expected a random secret of at least 32 characters in production (not a placeholder)",
        })
      }
      return { secretKey: config.secretKey.value, secretKeySource: { _tag: "Env" } as SecretKeySource }
    }
    if (config.production && Option.isSome(config.databaseUrl)) {
      return yield* new InsecureSecretKey({
        message: "SECRET_KEY: required in production when DATABASE_URL is set (every instance must share it)",
      })
    }
    const file = path.join(config.dataDir, SECRET_FILE)
    const { secret, generated } = yield* Effect.try({
      try: () => {
        if (fs.existsSync(file)) return { secret: fs.readFileSync(file, "utf8").trim(), generated: false }
        fs.mkdirSync(config.dataDir, { recursive: true })
        const secret = randomBytes(48).toString("base64url")
        fs.writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" })
        return { secret, generated: true }
      },
      catch: (error) =>
        new InsecureSecretKey({
          message: `SECRET_KEY: not set, and ${file} could not be read or created: ${String(error)}`,
        }),
    })
    if (secret.length < 32) {
      return yield* new InsecureSecretKey({ message: `SECRET_KEY: ${file} holds a secret shorter than 32 characters` })
    }
    return { secretKey: Redacted.make(secret), secretKeySource: { _tag: "File", file, generated } as SecretKeySource }
  })

export class AppConfig extends Effect.Service<AppConfig>()("gateway/config/AppConfig", {
  effect: Effect.gen(function* () {
    const config = yield* appConfig
    const secret = yield* resolveSecretKey(config)
    return { ...config, ...secret } satisfies AppConfigShape as AppConfigShape
  }),
}) {}

export class InsecureSecretKey extends Schema.TaggedError<InsecureSecretKey>()("InsecureSecretKey", {
  message: Schema.String,
}) {}
