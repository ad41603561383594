import type { IncomingMessage, ServerResponse } from "node:http"
import { Either, ParseResult, Schema } from "effect"
import type { Behaviour } from "./Behaviour.js"

/**
 * Fault injection over HTTP (the mock's `controlRoutes` option, on in `npm run demo`): the same
 * `Behaviour`s a test scripts in code, sent as JSON to the mock itself.
 *
 *   POST /mock/script    a behaviour or a list of them, each consumed by the next request it matches
 *   PUT  /mock/default   the behaviour of every request no queued one matches; `null` clears it
 *   POST /mock/reset     clears the queue, the default and the request count
 *   GET  /mock/state     `{ requests, pending }`
 *
 * A `match` here is exact strings (`path`, `model`); regular expressions are for code.
 */

const Count = Schema.Number.pipe(Schema.int(), Schema.between(0, 10_000))
const Millis = Schema.Number.pipe(Schema.int(), Schema.between(0, 600_000))
const Text = Schema.String.pipe(Schema.maxLength(100_000))

const BehaviourJson = Schema.Struct({
  match: Schema.optional(Schema.Struct({ path: Schema.optional(Text), model: Schema.optional(Text) })),
  reset: Schema.optional(Schema.Boolean),
  hang: Schema.optional(Schema.Boolean),
  delayMs: Schema.optional(Millis),
  status: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(200, 599))),
  body: Schema.optional(Schema.Unknown),
  headers: Schema.optional(
    Schema.Record({
      key: Schema.String.pipe(Schema.pattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/)),
      value: Schema.String.pipe(Schema.pattern(/^[\t\x20-\x7e]{0,1024}$/)),
    }),
  ),
  errorMessage: Schema.optional(Text),
  firstTokenDelayMs: Schema.optional(Millis),
  chunkDelayMs: Schema.optional(Millis),
  cutAfterChunks: Schema.optional(Count),
  stallAfterChunks: Schema.optional(Count),
  malformedAfterChunks: Schema.optional(Count),
  malformedThen: Schema.optional(Schema.Literal("continue", "end")),
  errorAfterChunks: Schema.optional(Count),
  omitDone: Schema.optional(Schema.Boolean),
  text: Schema.optional(Text),
  chunks: Schema.optional(Schema.Array(Text).pipe(Schema.maxItems(10_000))),
  chunkCount: Schema.optional(Count.pipe(Schema.positive())),
  toolCalls: Schema.optional(
    Schema.Array(
      Schema.Struct({ name: Text, arguments: Schema.optional(Schema.Unknown), id: Schema.optional(Text) }),
    ).pipe(Schema.maxItems(64)),
  ),
  thinking: Schema.optional(Text),
  finishReason: Schema.optional(Schema.Literal("stop", "length", "tool_calls", "content_filter")),
  usage: Schema.optional(
    Schema.Struct({
      inputTokens: Schema.optional(Count),
      outputTokens: Schema.optional(Count),
      cachedTokens: Schema.optional(Count),
      cacheCreationTokens: Schema.optional(Count),
      reasoningTokens: Schema.optional(Count),
    }),
  ),
})

const decodeOne = Schema.decodeUnknownEither(BehaviourJson, { onExcessProperty: "error" })
const decodeMany = Schema.decodeUnknownEither(Schema.Array(BehaviourJson).pipe(Schema.maxItems(1_000)), {
  onExcessProperty: "error",
})

const describe = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .slice(0, 5)
    .map((issue) => `${issue.path.length === 0 ? "(body)" : issue.path.join(".")}: ${issue.message}`.slice(0, 300))
    .join("; ")

/** The behaviours of a `POST /mock/script` body (one or a list), or why it is not one. */
export const decodeBehaviours = (json: unknown): Either.Either<ReadonlyArray<Behaviour>, string> =>
  Array.isArray(json)
    ? Either.mapLeft(decodeMany(json), describe)
    : Either.mapBoth(decodeOne(json), { onLeft: describe, onRight: (b) => [b] })

/** The body of a `PUT /mock/default`: a behaviour, or `null` to clear the default. */
export const decodeDefault = (json: unknown): Either.Either<Behaviour | undefined, string> =>
  json === null ? Either.right(undefined) : Either.mapLeft(decodeOne(json), describe)

/** What the control routes act on: the mock's own queue and default. */
export interface MockControls {
  readonly script: (...behaviours: Array<Behaviour>) => void
  readonly setDefault: (behaviour: Behaviour | undefined) => void
  readonly reset: () => void
  readonly state: () => { readonly requests: number; readonly pending: number }
}

const CONTROL_BODY_LIMIT = 1 << 20

const reply = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const act = (method: string, path: string, text: string, controls: MockControls): [number, unknown] => {
  const route = `${method} ${path}`
  if (route === "GET /mock/state") return [200, controls.state()]
  if (route === "POST /mock/reset") {
    controls.reset()
    return [200, controls.state()]
  }
  if (route !== "POST /mock/script" && route !== "PUT /mock/default")
    return [404, { error: `unknown control route ${route.slice(0, 200)}` }]
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return [400, { error: "expected a JSON body" }]
  }
  if (route === "PUT /mock/default") {
    const decoded = decodeDefault(json)
    if (Either.isLeft(decoded)) return [400, { error: decoded.left }]
    controls.setDefault(decoded.right)
    return [200, controls.state()]
  }
  const decoded = decodeBehaviours(json)
  if (Either.isLeft(decoded)) return [400, { error: decoded.left }]
  controls.script(...decoded.right)
  return [200, controls.state()]
}

/** Serves one request under `/mock/` (its body at most 1 MiB: 413 beyond). */
export const serveControl = (req: IncomingMessage, res: ServerResponse, path: string, controls: MockControls): void => {
  const parts: Array<Buffer> = []
  let size = 0
  req.on("data", (chunk: Buffer) => {
    size += chunk.length
    if (size <= CONTROL_BODY_LIMIT) parts.push(chunk)
  })
  req.on("end", () => {
    if (size > CONTROL_BODY_LIMIT)
      return reply(res, 413, { error: `a control body is at most ${CONTROL_BODY_LIMIT} bytes` })
    const [status, body] = act(req.method ?? "GET", path, Buffer.concat(parts).toString("utf8"), controls)
    reply(res, status, body)
  })
  req.on("error", () => {})
}
