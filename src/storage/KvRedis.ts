import { Config, Duration, Effect, Layer, Option, Queue, Redacted, Runtime, Stream } from "effect"
import { Redis, ReplyError } from "ioredis"
import { AppConfig } from "../config/AppConfig.js"
import { durationConfig } from "../shared/DurationConfig.js"
import { Kv, KvError, type KvStore, ttlMillis } from "./Kv.js"

/**
 * The Redis KV backend, shared by every gateway instance. Every key and channel is prefixed
 * with `prefix`. Connection trouble never crashes the process: ioredis reconnects in the
 * background and each operation meanwhile fails at once with a `KvError` marked `unavailable`
 * (no offline queue: a command is never held waiting for a connection), and a command that gets
 * no answer fails after `commandTimeout`. `KvFallback` serves such operations from memory.
 */

export interface RedisKvOptions {
  readonly url: Redacted.Redacted<string>
  /** Prepended to every key and pub/sub channel, e.g. `apiproxy:`. */
  readonly prefix: string
  /** Per-command deadline; a hot-path command must not hang on a dead connection. */
  readonly commandTimeout?: Duration.DurationInput
}

/** `KV_TIMEOUT`: the deadline of every command on the request path. */
export const kvTimeout = durationConfig("KV_TIMEOUT").pipe(
  Config.validate({
    message: "expected a positive duration, e.g. 100 millis",
    validation: (d) => Duration.toMillis(d) > 0,
  }),
  Config.withDefault(Duration.millis(100)),
)

const DEFAULT_COMMAND_TIMEOUT = Duration.seconds(2)
const CONNECT_TIMEOUT = Duration.seconds(5)
const SUBSCRIBER_BUFFER = 4_096
/** At most one connection-error log line per connection per this interval. */
const ERROR_LOG_INTERVAL_MS = 10_000

/** `host:port` of a Redis URL, without credentials, for error messages and logs. */
export const describeRedisUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || "6379"}`
  } catch {
    return "<unparseable REDIS_URL>"
  }
}

/** INCRBY that sets the TTL only when this increment creates the key, atomically. */
const INCR_LUA = `
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value`

/** INCRBY of a key that exists (its TTL kept); nil, and nothing written, when it does not. */
const INCR_IF_PRESENT_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false`

interface WithIncrCommand {
  apiproxyIncr(key: string, by: number, ttlMs: number): Promise<number>
  apiproxyIncrIfPresent(key: string, by: number): Promise<number | null>
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Why a command failed without Redis refusing it, or undefined for Redis' own error reply. */
const unavailability = (error: unknown): { readonly unavailable?: "disconnected" | "timeout" } => {
  if (error instanceof ReplyError) return {}
  return { unavailable: errorMessage(error) === "Command timed out" ? "timeout" : "disconnected" }
}

export const make = (options: RedisKvOptions) =>
  Effect.gen(function* () {
    const prefix = options.prefix
    const where = describeRedisUrl(Redacted.value(options.url))
    const runtime = yield* Effect.runtime<never>()
    const logWarning = (message: string) => Runtime.runFork(runtime)(Effect.logWarning(message))

    /** Logs connection errors (rate-limited) instead of letting an 'error' event crash Node. */
    const watchErrors = (connection: Redis, role: string) => {
      let lastLog = 0
      // Before the first successful connect, the start-up error (or the failing command) says it all.
      let ready = false
      connection.on("ready", () => {
        ready = true
      })
      connection.on("error", (error: unknown) => {
        if (!ready) return
        const now = Date.now()
        if (now - lastLog < ERROR_LOG_INTERVAL_MS) return
        lastLog = now
        logWarning(`Redis ${role} connection to ${where}: ${errorMessage(error)}`)
      })
    }

    const commandTimeoutMs = Duration.toMillis(options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT)
    const handshakeTimeoutMs = Duration.toMillis(CONNECT_TIMEOUT)
    const client = new Redis(Redacted.value(options.url), {
      lazyConnect: true,
      // While disconnected, fail every command at once instead of queueing it until a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: handshakeTimeoutMs,
      connectTimeout: handshakeTimeoutMs,
      enableAutoPipelining: true,
    })
    // The handshake after each (re)connect (CLIENT SETINFO, then the ready check's INFO) may take
    // as long as a connect: with KV_TIMEOUT (100 ms) a start whose event loop was busy a little
    // longer (loading modules, the embedded database) failed the ready check, and ioredis closed
    // the connection ("could not connect … Connection is closed"). Commands run only on a ready
    // connection (no offline queue), so they all keep KV_TIMEOUT.
    client.on("ready", () => {
      client.options.commandTimeout = commandTimeoutMs
    })
    client.on("close", () => {
      client.options.commandTimeout = handshakeTimeoutMs
    })
    watchErrors(client, "command")
    client.defineCommand("apiproxyIncr", { numberOfKeys: 1, lua: INCR_LUA })
    client.defineCommand("apiproxyIncrIfPresent", { numberOfKeys: 1, lua: INCR_IF_PRESENT_LUA })
    const incrCommand = client as unknown as WithIncrCommand

    const quit = (connection: Redis) =>
      Effect.tryPromise(() => connection.quit()).pipe(
        Effect.timeout("1 second"),
        Effect.catchAll(() => Effect.sync(() => connection.disconnect())),
      )

    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => client.connect(),
        catch: (error) =>
          new KvError({
            operation: "connect",
            message: `REDIS_URL: could not connect to redis at ${where}: ${errorMessage(error)}`,
          }),
      }).pipe(
        Effect.timeoutFail({
          duration: CONNECT_TIMEOUT,
          onTimeout: () =>
            new KvError({
              operation: "connect",
              message: `REDIS_URL: could not connect to redis at ${where}: timed out after ${Duration.format(CONNECT_TIMEOUT)}`,
            }),
        }),
        // A failed first connect must not keep retrying in the background.
        Effect.tapError(() => Effect.sync(() => client.disconnect())),
      ),
      () => quit(client),
    )

    const run = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, KvError> =>
      Effect.tryPromise({
        try: f,
        catch: (error) => new KvError({ operation, message: errorMessage(error), ...unavailability(error) }),
      })

    const k = (key: string) => prefix + key

    // Pub/sub: one lazily created subscriber connection, one SUBSCRIBE per channel however many
    // local subscribers it has.
    let subscriber: Redis | undefined
    let closed = false
    const channels = new Map<string, { readonly queues: Set<Queue.Queue<string>>; readonly ready: Promise<unknown> }>()

    const getSubscriber = () => {
      if (subscriber !== undefined) return subscriber
      // Subscriptions are made at start-up, not per request: they may wait for the (lazy) connection.
      const connection = client.duplicate({
        enableAutoPipelining: false,
        enableOfflineQueue: true,
        commandTimeout: Duration.toMillis(CONNECT_TIMEOUT),
      })
      watchErrors(connection, "subscriber")
      connection.on("message", (channel: string, message: string) => {
        const entry = channels.get(channel)
        if (entry === undefined) return
        for (const queue of entry.queues) Queue.unsafeOffer(queue, message)
      })
      subscriber = connection
      return connection
    }

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closed = true
        for (const entry of channels.values()) {
          for (const queue of entry.queues) yield* Queue.shutdown(queue)
        }
        channels.clear()
        if (subscriber !== undefined) yield* quit(subscriber)
      }),
    )

    const subscribeScoped: KvStore["subscribeScoped"] = (channel) =>
      Effect.gen(function* () {
        if (closed) return yield* new KvError({ operation: "subscribe", message: "the KV store is closed" })
        const name = k(channel)
        const queue = yield* Effect.acquireRelease(Queue.sliding<string>(SUBSCRIBER_BUFFER), (queue) =>
          Effect.gen(function* () {
            const entry = channels.get(name)
            if (entry !== undefined) {
              entry.queues.delete(queue)
              if (entry.queues.size === 0) {
                channels.delete(name)
                if (subscriber !== undefined && !closed) {
                  yield* Effect.ignore(Effect.tryPromise(() => subscriber!.unsubscribe(name)))
                }
              }
            }
            yield* Queue.shutdown(queue)
          }),
        )
        let entry = channels.get(name)
        if (entry === undefined) {
          const connection = getSubscriber()
          entry = { queues: new Set(), ready: connection.subscribe(name) }
          channels.set(name, entry)
        }
        entry.queues.add(queue)
        const subscribed = entry
        yield* run("subscribe", () => subscribed.ready).pipe(
          // A failed SUBSCRIBE must not poison later subscribers of the channel.
          Effect.tapError(() =>
            Effect.sync(() => {
              if (channels.get(name) === subscribed) channels.delete(name)
            }),
          ),
        )
        return Stream.fromQueue(queue)
      })

    const store: KvStore = {
      get: (key) => run("get", async () => (await client.get(k(key))) ?? undefined),

      getMany: (keys) =>
        keys.length === 0
          ? Effect.succeed([])
          : run("getMany", async () => (await client.mget(keys.map(k))).map((value) => value ?? undefined)),

      set: (key, value, ttl) => {
        const ms = ttlMillis(ttl)
        return run("set", () =>
          ms === undefined ? client.set(k(key), value) : client.set(k(key), value, "PX", ms),
        ).pipe(Effect.asVoid)
      },

      setIfAbsent: (key, value, ttl) => {
        const ms = ttlMillis(ttl)
        return run("setIfAbsent", () =>
          ms === undefined ? client.set(k(key), value, "NX") : client.set(k(key), value, "PX", ms, "NX"),
        ).pipe(Effect.map((reply) => reply === "OK"))
      },

      del: (key) => Effect.asVoid(run("del", () => client.del(k(key)))),

      incr: (key, by = 1, ttl) =>
        Number.isSafeInteger(by)
          ? run("incr", () => incrCommand.apiproxyIncr(k(key), by, ttlMillis(ttl) ?? 0)).pipe(Effect.map(Number))
          : Effect.fail(new KvError({ operation: "incr", message: `increment must be an integer, got ${by}` })),

      incrIfPresent: (key, by) =>
        Number.isSafeInteger(by)
          ? run("incrIfPresent", () => incrCommand.apiproxyIncrIfPresent(k(key), by)).pipe(
              Effect.map((value) => (value === null ? undefined : Number(value))),
            )
          : Effect.fail(
              new KvError({ operation: "incrIfPresent", message: `increment must be an integer, got ${by}` }),
            ),

      ttl: (key) => run("ttl", () => client.pttl(k(key))).pipe(Effect.map((ms) => (ms < 0 ? undefined : ms))),

      pushCapped: (key, value, maxLength, ttl) => {
        if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
          return Effect.fail(
            new KvError({ operation: "pushCapped", message: `maxLength must be a positive integer, got ${maxLength}` }),
          )
        }
        const ms = ttlMillis(ttl)
        return run("pushCapped", async () => {
          const multi = client
            .multi()
            .lpush(k(key), value)
            .ltrim(k(key), 0, maxLength - 1)
          const results = await (ms === undefined ? multi : multi.pexpire(k(key), ms)).exec()
          if (results === null) throw new Error("transaction aborted")
          for (const [error] of results) if (error) throw error
        })
      },

      listRange: (key, start, stop) => run("listRange", () => client.lrange(k(key), start, stop)),

      publish: (channel, message) => Effect.asVoid(run("publish", () => client.publish(k(channel), message))),

      subscribeScoped,

      subscribe: (channel) => Stream.unwrapScoped(subscribeScoped(channel)),

      ping: Effect.asVoid(run("ping", () => client.ping())),
    }
    return store
  })

/** `REDIS_URL`, or the connect failure that says it is missing. */
export const redisUrlOf = (config: {
  readonly redisUrl: Option.Option<Redacted.Redacted<string>>
}): Effect.Effect<Redacted.Redacted<string>, KvError> =>
  Option.match(config.redisUrl, {
    onNone: () => Effect.fail(new KvError({ operation: "connect", message: "REDIS_URL is not set" })),
    onSome: Effect.succeed,
  })

/** The Redis store for explicit options (tests, tools). */
export const layerFrom = (options: RedisKvOptions): Layer.Layer<Kv, KvError> => Layer.scoped(Kv, make(options))

/** The Redis store at `AppConfig.redisUrl`, keys under `AppConfig.kvPrefix`. */
export const layer: Layer.Layer<Kv, KvError, AppConfig> = Layer.scoped(
  Kv,
  Effect.gen(function* () {
    const config = yield* AppConfig
    return yield* make({ url: yield* redisUrlOf(config), prefix: config.kvPrefix })
  }),
)
