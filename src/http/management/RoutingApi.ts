import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { post, providerId, Superuser } from "./CoreApi.js"

/**
 * Routing inspection (superusers): a dry run of the routing decision, session bindings, and a
 * provider's runtime metrics and health. Nothing here changes routing state, except
 * `bind: true` on a decision and deleting a session binding.
 */

const Circuit = Schema.Literal("closed", "open", "half_open")
const CircuitState = Schema.Struct({ status: Circuit, retry_after_ms: Schema.NullOr(Schema.Number) })

export const ScoreResponse = Schema.Struct({
  score: Schema.Number,
  base_weight: Schema.Number,
  weight: Schema.Number.annotations({ description: "base_weight × the dynamic factor" }),
  latency: Schema.Number,
  error: Schema.Number,
  cost: Schema.Number,
  penalty: Schema.Number,
  confidence: Schema.Number,
  status: Schema.String,
})

export const PlannedAttemptResponse = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  priority: Schema.Int,
  circuit: Circuit,
  reason: Schema.Literal("sticky", "weighted_choice", "score_order", "half_open_probe", "panic"),
  score: ScoreResponse,
})

export const SkippedResponse = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  reason: Schema.Literal("circuit_open"),
  retry_after_ms: Schema.NullOr(Schema.Number),
  score: ScoreResponse,
})

/** Whose session: a client API key, a user, or (by default) the caller itself. */
const ownerFields = {
  api_key_id: Schema.optional(Schema.String).annotations({ description: "The session of this API key's client" }),
  user_id: Schema.optional(Schema.String).annotations({ description: "The session of this user (JWT clients)" }),
}

export const DecideRequest = Schema.Struct({
  logical_model: Schema.String.pipe(Schema.minLength(1)).annotations({
    description: "Any model name a client may send: a logical model, provider/model, or a discovered model",
  }),
  conversation_id: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))).annotations({
    description: "The client's X-Session-Id, to see (or set) its sticky binding",
  }),
  ...ownerFields,
  exclude_providers: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  bind: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "Bind conversation_id to the selected upstream. Without it the decision changes nothing.",
  }),
})

export const DecideResponse = Schema.Struct({
  logical_model: Schema.String,
  resolved_as: Schema.String.annotations({ description: "The logical model id, or the model name of a dynamic group" }),
  source: Schema.String,
  strategy: Schema.String,
  selected_upstream: Schema.NullOr(PlannedAttemptResponse),
  reasoning: Schema.String,
  sticky: Schema.String.annotations({
    description: "none · applied · not_a_candidate · circuit_not_closed · below_min_score · not_in_best_tier",
  }),
  attempts: Schema.Array(PlannedAttemptResponse).annotations({
    description: "The ordered plan the gateway would walk",
  }),
  skipped: Schema.Array(SkippedResponse),
  retry_after_ms: Schema.NullOr(Schema.Number),
  decision_time_ms: Schema.Number,
  bound: Schema.Boolean,
})

export const SessionResponse = Schema.Struct({
  conversation_id: Schema.String,
  owner: Schema.String,
  logical_model: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  created_at: Schema.Date,
  last_accessed: Schema.Date,
})

export const ProviderMetricsResponse = Schema.Struct({
  provider_id: Schema.String,
  status: Schema.Literal("unknown", "healthy", "degraded", "down").annotations({
    description:
      "unknown until the provider was used or probed; then the worst of its models' recent error rate and latency, or, without traffic, the last probe's result",
  }),
  circuit: CircuitState,
  metrics: Schema.Array(
    Schema.Struct({
      model: Schema.String,
      samples: Schema.Number,
      latency_ewma_ms: Schema.Number,
      error_ewma: Schema.Number,
      weight_factor: Schema.Number,
      updated_at: Schema.Date,
    }),
  ),
  connection_circuit: CircuitState.annotations({
    description: "The provider's own circuit (connection failures); `circuit` is the worst of it and the upstreams'",
  }),
  upstreams: Schema.Array(
    Schema.Struct({ model: Schema.String, circuit: CircuitState }).annotations({
      description: "One upstream (this provider and one of its models) and its circuit",
    }),
  ).annotations({ description: "Every model of the provider (or the one asked for), each with its circuit" }),
  keys: Schema.Array(
    Schema.Struct({
      id: Schema.String,
      label: Schema.String,
      backoff: Schema.Literal("none", "backoff", "retry_after").annotations({
        description:
          "none: usable; backoff: skipped after failures until backoff_until; retry_after: the provider asked to wait until backoff_until",
      }),
      backoff_until: Schema.NullOr(Schema.Date),
      failures: Schema.Int.annotations({ description: "Consecutive failures of the key" }),
      preference: Schema.Number.annotations({ description: "1 without history; lower after failures (0.1 to 10)" }),
    }),
  ).annotations({ description: "Each key's back-off state, for every model (per-model rate limits are not shown)" }),
  discovery: Schema.Struct({
    source: Schema.Literal("static", "discovered").annotations({
      description: "static: the provider's model list is set; discovered: read from its models endpoint",
    }),
    models: Schema.NullOr(Schema.Array(Schema.String)).annotations({
      description: "The models in use now: the static list, or the discovered one (null: not known)",
    }),
    last: Schema.NullOr(
      Schema.Struct({
        at: Schema.Date,
        models: Schema.NullOr(Schema.Int).annotations({ description: "Models listed; null when it failed" }),
        error: Schema.NullOr(Schema.String),
      }),
    ).annotations({ description: "The last discovery on any instance (null: none in the last 30 days)" }),
  }),
})

export const ProviderHealthResponse = Schema.Struct({
  provider_id: Schema.String,
  status: Schema.Literal("healthy", "degraded", "down"),
  timestamp: Schema.Date,
  response_time_ms: Schema.Number,
  http_status: Schema.NullOr(Schema.Int),
  error_message: Schema.NullOr(Schema.String),
  last_successful_check: Schema.NullOr(Schema.Date),
})

const conversationId = HttpApiSchema.param("conversation_id", Schema.String)

export class RoutingGroup extends HttpApiGroup.make("routing")
  .add(
    post("decide", "/routing/decide", DecideRequest, DecideResponse, {
      description:
        "A dry run of the routing decision for a model: the upstream the next request would go to, and the whole ordered plan with scores and reasons. Changes nothing unless bind is true.",
    }),
  )
  .add(
    HttpApiEndpoint.get("getSession")`/routing/sessions/${conversationId}`
      .setUrlParams(Schema.Struct(ownerFields))
      .addSuccess(SessionResponse),
  )
  .add(
    HttpApiEndpoint.del("deleteSession")`/routing/sessions/${conversationId}`
      .setUrlParams(Schema.Struct(ownerFields))
      .addSuccess(HttpApiSchema.NoContent),
  )
  .add(
    HttpApiEndpoint.get("providerMetrics")`/providers/${providerId}/metrics`
      .setUrlParams(Schema.Struct({ model: Schema.optional(Schema.String) }))
      .addSuccess(ProviderMetricsResponse)
      .annotate(
        OpenApi.Description,
        "Runtime metrics (shared by every instance) of the provider's upstreams, its circuits (the provider's and each upstream's), its keys' back-off state, and its model list with the last discovery's result. Reads state only: nothing is sent to the provider, except a discovery when its discovered list is not known or stale.",
      ),
  )
  .add(
    HttpApiEndpoint.get("providerHealth")`/providers/${providerId}/health`
      .addSuccess(ProviderHealthResponse)
      .annotate(
        OpenApi.Description,
        "An active probe: one GET of the provider's models path with one of its keys. ≥500 or no answer: down; other 4xx: degraded; else healthy.",
      ),
  )
  .middleware(Superuser)
  .annotate(OpenApi.Title, "Routing")
  .annotate(
    OpenApi.Description,
    "Superusers only. Routing decisions, session bindings, provider metrics and health.",
  ) {}
