/** The management API's answers the console reads (snake_case, as on the wire; see /openapi.json). */

export interface User {
  readonly id: string
  readonly username: string
  readonly email: string
  readonly display_name: string | null
  readonly is_superuser: boolean
}

export interface ProviderKey {
  readonly id: string
  readonly label: string
  readonly masked_key: string
  readonly weight: number
  readonly max_qps: number | null
  readonly status: string
}

export interface Provider {
  readonly id: string
  readonly name: string
  readonly protocol: "openai" | "anthropic" | "gemini"
  readonly base_url: string
  readonly enabled: boolean
  readonly status: string
  readonly weight: number
  readonly models: ReadonlyArray<string> | null
  readonly keys: ReadonlyArray<ProviderKey>
}

export interface ProviderHealth {
  readonly status: "healthy" | "degraded" | "down"
  readonly response_time_ms: number
  readonly http_status: number | null
  readonly error_message: string | null
}

export interface ApiKey {
  readonly id: string
  readonly name: string
  readonly key_prefix: string
  readonly expiry_type: "week" | "month" | "year" | "never"
  readonly expires_at: string | null
  readonly is_active: boolean
  readonly created_at: string
}

export interface CreatedApiKey extends ApiKey {
  readonly token: string
}

/** One upstream call of a logged request (`GET /logs`). */
export interface LogAttempt {
  readonly provider: string
  readonly model: string
  readonly outcome: string
  readonly status: number | null
  readonly ms: number
}

/** One request of the request log (`GET /logs`). */
export interface LogRow {
  readonly id: string
  readonly started_at: string
  readonly request_id: string
  readonly user_id: string | null
  readonly api_key_id: string | null
  readonly dialect: string
  readonly endpoint: string
  readonly requested_model: string | null
  readonly stream: boolean
  readonly provider: string | null
  readonly model: string | null
  readonly attempts: ReadonlyArray<LogAttempt>
  readonly status: number
  readonly complete: boolean
  readonly rescued: boolean
  readonly latency_ms: number
  readonly ttft_ms: number | null
  readonly input_tokens: number | null
  readonly output_tokens: number | null
  readonly cached_input_tokens: number | null
  readonly reasoning_tokens: number | null
  readonly cost_usd: string | null
  readonly error_class: string | null
  readonly error_message: string | null
  readonly request_body?: string
  readonly response_body?: string
  readonly bodies_truncated?: boolean
}

export interface LogPage {
  readonly rows: ReadonlyArray<LogRow>
  readonly next_cursor: string | null
}
