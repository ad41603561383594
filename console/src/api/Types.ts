import type { LogsResponse } from "../../../src/http/management/LogsApi.js"
/** The management API's answers the console reads (snake_case, as on the wire; see /openapi.json). */

export interface User {
  readonly id: string
  readonly username: string
  readonly email: string
  readonly display_name: string | null
  readonly is_superuser: boolean
  readonly is_active: boolean
  readonly created_at: string
}

export interface ProviderKey {
  readonly id: string
  readonly label: string
  readonly masked_key: string
  readonly weight: number
  readonly max_qps: number | null
  readonly status: string
}

/** A model's price in USD per million tokens (`request`: per request); other fields are kept as read. */
export interface ModelPrice {
  readonly input: number
  readonly output: number
  readonly cached_input?: number
  readonly [field: string]: unknown
}

export type PriceTable = Readonly<Record<string, ModelPrice>>

export interface Provider {
  readonly id: string
  readonly name: string
  readonly protocol: "openai" | "anthropic" | "gemini"
  readonly provider_type: "native" | "aggregator"
  readonly base_url: string
  readonly enabled: boolean
  readonly status: string
  readonly weight: number
  /** Header name → `…` and at most the last four characters of its value (never the value). */
  readonly custom_headers: Readonly<Record<string, string>>
  readonly prices: PriceTable | null
  readonly models: ReadonlyArray<string> | null
  readonly aliases: Readonly<Record<string, string>>
  readonly keys: ReadonlyArray<ProviderKey>
}

export type CircuitStatus = "closed" | "open" | "half_open"

export interface CircuitState {
  readonly status: CircuitStatus
  readonly retry_after_ms: number | null
}

export interface KeyBackoff {
  readonly id: string
  readonly label: string
  readonly backoff: "none" | "backoff" | "retry_after"
  readonly backoff_until: string | null
  readonly failures: number
}

export interface DiscoveryResult {
  readonly at: string
  readonly models: number | null
  readonly error: string | null
}

/** `GET /providers/{id}/metrics`: health from traffic, circuits, keys' back-off, models and discovery. */
export interface ProviderMetrics {
  readonly status: "unknown" | "healthy" | "degraded" | "down"
  readonly circuit: CircuitState
  readonly connection_circuit: CircuitState
  readonly upstreams: ReadonlyArray<{ readonly model: string; readonly circuit: CircuitState }>
  readonly keys: ReadonlyArray<KeyBackoff>
  readonly discovery: {
    readonly source: "static" | "discovered"
    readonly models: ReadonlyArray<string> | null
    readonly last: DiscoveryResult | null
  }
}

export interface ProviderHealth {
  readonly status: "healthy" | "degraded" | "down"
  readonly response_time_ms: number
  readonly http_status: number | null
  readonly error_message: string | null
}

/** A spend limit as a key or a user shows it: USD as a decimal string, per UTC period. */
export interface Budget {
  readonly amount_usd: string
  readonly period: BudgetPeriod
  readonly soft: boolean
}

export type BudgetPeriod = "day" | "week" | "month" | "total"

export type ExpiryType = "week" | "month" | "year" | "never" | "date"

export interface ApiKey {
  readonly id: string
  readonly user_id: string
  readonly name: string
  readonly key_prefix: string
  readonly expiry_type: ExpiryType
  readonly expires_at: string | null
  readonly is_active: boolean
  /** `null`: every provider; a list: only those (empty: none). */
  readonly allowed_provider_ids: ReadonlyArray<string> | null
  readonly requests_per_minute: number | null
  readonly tokens_per_minute: number | null
  readonly budget: Budget | null
  readonly created_at: string
}

export interface CreatedApiKey extends ApiKey {
  readonly token: string
}

/**
 * `GET /logs` as on the wire: the types of the management API's own Schemas (type-only imports:
 * nothing of the server is bundled), so they cannot drift.
 */
export type LogPage = typeof LogsResponse.Type
/** One request of the request log. */
export type LogRow = LogPage["rows"][number]
/** One upstream call of a logged request. */
export type LogAttempt = LogRow["attempts"][number]
