import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { AnyCredential } from "./CoreApi.js"

/** A time the database can compare with: years 1 to 9999 (Postgres refuses some dates JavaScript accepts). */
export const UsageTime = Schema.Date.pipe(
  Schema.filter((date) => {
    const year = date.getUTCFullYear()
    return (year >= 1 && year <= 9999) || "expected an ISO time between the years 1 and 9999"
  }),
)

/** Token usage and its cost recorded by the data plane (`usage_minutes`), summed per caller and upstream (and day or hour). */

const Counts = {
  requests: Schema.Number,
  incomplete: Schema.Number.annotations({
    description: "streams that did not finish cleanly (their partial usage is counted)",
  }),
  input_tokens: Schema.Number,
  output_tokens: Schema.Number,
  cached_input_tokens: Schema.Number,
  cost_usd: Schema.NullOr(Schema.String).annotations({
    description:
      'What the priced requests cost, in USD as an exact decimal string (e.g. "0.0123"); null when none of them was priced',
  }),
  unpriced_requests: Schema.Number.annotations({
    description: "requests whose model had no price (their cost is unknown and not in cost_usd)",
  }),
}

export const UsageResponse = Schema.Struct({
  from: Schema.String,
  to: Schema.String,
  rows: Schema.Array(
    Schema.Struct({
      api_key_id: Schema.NullOr(Schema.String).annotations({ description: "null: the master key" }),
      user_id: Schema.NullOr(Schema.String),
      provider: Schema.String,
      model: Schema.String.annotations({ description: "the upstream model that answered" }),
      day: Schema.optional(Schema.String).annotations({ description: "the UTC day (YYYY-MM-DD), with group_by=day" }),
      hour: Schema.optional(Schema.String).annotations({
        description: "the UTC hour's start (ISO, e.g. 2025-01-02T13:00:00.000Z), with group_by=hour",
      }),
      ...Counts,
    }),
  ),
  totals: Schema.Struct(Counts),
})

export class UsageGroup extends HttpApiGroup.make("usage")
  .add(
    HttpApiEndpoint.get("summary", "/usage")
      .setUrlParams(
        Schema.Struct({
          from: Schema.optional(UsageTime).annotations({
            description: "ISO time, inclusive (default: 24 hours before `to`)",
          }),
          to: Schema.optional(UsageTime).annotations({ description: "ISO time, exclusive (default: now)" }),
          user_id: Schema.optional(Schema.UUID.annotations({ message: () => "expected a user id (a UUID)" })),
          group_by: Schema.optional(
            Schema.Literal("day", "hour").annotations({
              message: () => ({ message: "expected day or hour", override: true }),
              description: "day: one row per UTC day as well; hour: one row per UTC hour as well",
            }),
          ),
        }),
      )
      .addSuccess(UsageResponse)
      .annotate(
        OpenApi.Description,
        "Answered data-plane requests, their tokens and their cost, by API key and upstream (and UTC day or hour with group_by), to the minute. A user sees their own keys; a superuser everyone's (or one user's with user_id).",
      ),
  )
  .middleware(AnyCredential)
  .annotate(OpenApi.Title, "Usage") {}
