import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { PolicyFields } from "../../shared/LogicalModelPolicy.js"
import { post, Superuser } from "./CoreApi.js"

/**
 * Logical models over HTTP (superusers): one client-facing model name routed to upstreams
 * (provider + the provider's model id), lower `priority` tiers first. Stored in PostgreSQL; every
 * change reloads the provider registry on every instance.
 */

const LogicalId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/, {
    message: () => "expected 1 to 200 of A-Z a-z 0-9 . _ : @ - (no '/', which names a provider)",
  }),
)
const Strategy = Schema.Literal("balanced", "latency_first", "cost_first", "reliability_first")

export const LogicalUpstream = Schema.Struct({
  provider: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(50)).annotations({ description: "Provider id" }),
  model: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
    description: "The provider's own model id (what is sent upstream)",
  }),
  weight: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 1 }),
  priority: Schema.optionalWith(
    Schema.Int.pipe(
      Schema.between(0, 2_147_483_647, { message: () => "expected a whole number from 0 to 2147483647" }),
    ),
    { default: () => 0 },
  ).annotations({
    description: "Lower is preferred; a higher tier is tried only when the ones before it failed",
  }),
})

const settings = {
  name: Schema.optionalWith(Schema.NullOr(Schema.String.pipe(Schema.maxLength(200))), { default: () => null }),
  description: Schema.optionalWith(Schema.NullOr(Schema.String.pipe(Schema.maxLength(10_000))), {
    default: () => null,
  }),
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  strategy: Schema.optionalWith(Strategy, { default: () => "balanced" as const }),
  upstreams: Schema.Array(LogicalUpstream).pipe(Schema.minItems(1)),
  // Its own timeouts (seconds), retries and mid-stream rescue setting; left out: the defaults.
  ...PolicyFields,
}

export const CreateLogicalModelRequest = Schema.Struct({ id: LogicalId, ...settings })
export const UpdateLogicalModelRequest = Schema.Struct(settings).annotations({
  description: "The whole model but its id: what is left out takes its default",
})

const UpstreamResponse = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  weight: Schema.Number,
  priority: Schema.Int,
})

export const LogicalModelResponse = Schema.Struct({
  id: Schema.String,
  name: Schema.NullOr(Schema.String),
  description: Schema.NullOr(Schema.String),
  enabled: Schema.Boolean,
  strategy: Schema.String,
  upstreams: Schema.Array(UpstreamResponse),
  ...PolicyFields,
  created_at: Schema.Date,
  updated_at: Schema.Date,
})

export const LogicalModelListResponse = Schema.Struct({
  models: Schema.Array(LogicalModelResponse),
  total: Schema.Int,
})

export const LogicalUpstreamsResponse = Schema.Struct({
  logical_model: Schema.String,
  upstreams: Schema.Array(
    Schema.Struct({
      ...UpstreamResponse.fields,
      provider_enabled: Schema.Boolean.annotations({ description: "The provider exists, is enabled and has a key" }),
      circuit: Schema.Literal("closed", "open", "half_open"),
    }),
  ),
})

const logicalId = HttpApiSchema.param("id", Schema.String)

export class LogicalModelsGroup extends HttpApiGroup.make("logicalModels")
  .add(HttpApiEndpoint.get("list", "/logical-models").addSuccess(LogicalModelListResponse))
  .add(post("create", "/logical-models", CreateLogicalModelRequest, LogicalModelResponse, { status: 201 }))
  .add(HttpApiEndpoint.get("get")`/logical-models/${logicalId}`.addSuccess(LogicalModelResponse))
  .add(
    HttpApiEndpoint.put("update")`/logical-models/${logicalId}`
      .setPayload(UpdateLogicalModelRequest)
      .addSuccess(LogicalModelResponse),
  )
  .add(HttpApiEndpoint.del("delete")`/logical-models/${logicalId}`.addSuccess(HttpApiSchema.NoContent))
  .add(HttpApiEndpoint.get("upstreams")`/logical-models/${logicalId}/upstreams`.addSuccess(LogicalUpstreamsResponse))
  .middleware(Superuser)
  .annotate(OpenApi.Title, "Logical models")
  .annotate(
    OpenApi.Description,
    "Superusers only. A logical model routes one client-facing name to several upstreams. Every change reloads the provider registry on every instance.",
  ) {}
