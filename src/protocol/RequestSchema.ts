/** Top-level request envelope check shared by the dialect decoders: a JSON object that keeps unknown fields. */
import { Either, ParseResult, Schema } from "effect"
import { type Dialect, ProtocolError } from "./Canonical.js"
import type { JsonObject } from "./Json.js"

export const OpenRecord = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** Decode `body` with an object Schema (which should use OpenRecord as index signature); errors become ProtocolError. */
export const decodeEnvelope = <A extends JsonObject, I>(
  dialect: Dialect,
  schema: Schema.Schema<A, I, never>,
  body: unknown,
): Either.Either<A, ProtocolError> =>
  Schema.decodeUnknownEither(schema, { errors: "first", onExcessProperty: "preserve" })(body).pipe(
    Either.mapLeft(
      (e) =>
        new ProtocolError({
          dialect,
          message: `Invalid request body: ${ParseResult.TreeFormatter.formatErrorSync(e)}`,
        }),
    ),
  )
