import { Context } from "effect"
import type { CallerBudgets } from "../shared/Budget.js"

/** Who is calling: resolved once per request by the auth middleware. */
export interface Principal {
  readonly kind: "api_key" | "master_key" | "jwt"
  readonly userId: string | null
  readonly username: string
  readonly isSuperuser: boolean
  /** The API key's id, when the caller used one. */
  readonly apiKeyId: string | null
  /** `null`: every provider. An empty array: no provider at all (never "all"). */
  readonly allowedProviderIds: ReadonlyArray<string> | null
  readonly limits: { readonly requestsPerMinute: number | null; readonly tokensPerMinute: number | null }
  /** The spend limits of the API key and of its user (usage/Budgets); absent when neither has one. */
  readonly budgets?: CallerBudgets | undefined
  /** The API key's request and response bodies are kept in the request log (`log_bodies`); absent: not. */
  readonly logBodies?: boolean | undefined
}

export class CurrentPrincipal extends Context.Tag("gateway/identity/CurrentPrincipal")<CurrentPrincipal, Principal>() {}
