import type { IncomingMessage } from "node:http"
import { Either, Schema } from "effect"
import { InvalidRequest } from "../gateway/GatewayError.js"
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from "../protocol/Json.js"

export class RequestTooLarge extends Schema.TaggedError<RequestTooLarge>()("RequestTooLarge", {
  message: Schema.String,
}) {}

export type BodyProblem = RequestTooLarge | InvalidRequest

// Built only when needed: constructing an error captures a stack trace.
const tooLarge = (limit: number) => new RequestTooLarge({ message: `Request body exceeds the limit of ${limit} bytes` })

/**
 * Reads a request body of at most `limit` bytes and calls `done` once. A declared length over
 * the limit is refused before reading a byte; a body that grows past it stops being read.
 * Returns a function that stops reading (for a request abandoned before its body arrived).
 */
export const readBody = (
  request: IncomingMessage,
  limit: number,
  done: (result: Either.Either<string, BodyProblem>) => void,
): (() => void) => {
  if (Number(request.headers["content-length"] ?? "0") > limit) {
    done(Either.left(tooLarge(limit)))
    return noop
  }
  const chunks: Array<Buffer> = []
  let size = 0
  let finished = false
  const detach = () => {
    request.off("data", onData)
    request.off("end", onEnd)
    request.off("error", onError)
  }
  const finish = (result: Either.Either<string, BodyProblem>) => {
    if (finished) return
    finished = true
    detach()
    done(result)
  }
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (size > limit) return finish(Either.left(tooLarge(limit)))
    chunks.push(chunk)
  }
  const onEnd = () =>
    finish(
      Either.right(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8")),
    )
  const onError = () => finish(Either.left(new InvalidRequest({ message: "The request body could not be read" })))
  request.on("data", onData)
  request.once("end", onEnd)
  request.once("error", onError)
  return () => {
    if (finished) return
    finished = true
    detach()
  }
}

const noop = () => {}

/** The body as one JSON object, nested at most `MAX_JSON_DEPTH` levels. */
export const parseJsonObject = (text: string): Either.Either<Record<string, unknown>, InvalidRequest> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Either.left(new InvalidRequest({ message: "The request body is not valid JSON", code: "invalid_json" }))
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    return Either.left(new InvalidRequest({ message: "The request body must be a JSON object", code: "invalid_json" }))
  }
  if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
    return Either.left(
      new InvalidRequest({
        message: `The request body nests JSON deeper than ${MAX_JSON_DEPTH} levels`,
        code: "json_too_deep",
      }),
    )
  }
  return Either.right(json as Record<string, unknown>)
}
