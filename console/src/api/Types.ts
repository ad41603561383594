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
