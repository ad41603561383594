import { maskedSuffix } from "../../crypto/Secrets.js"
import type { Expiry } from "../../identity/ApiKeys.js"
import { budgetOfColumns } from "../../shared/Budget.js"
import { renderSettings } from "../../shared/ProviderSettings.js"
import type { ApiKeyRow } from "../../storage/ApiKeyRepository.js"
import type { AdminKeyRow, AdminModelRow, AdminProviderRow } from "../../storage/ProviderAdminRepository.js"
import type { UserRow } from "../../storage/UserRepository.js"
import { renderBudgetSetting } from "./BudgetSchemas.js"

/** Stored rows → the management API's response shapes. Nothing secret is ever copied over. */

const date = (value: Date | string): Date => (value instanceof Date ? value : new Date(value))

export const renderUser = (user: UserRow) => ({
  id: user.id,
  username: user.username,
  email: user.email,
  display_name: user.displayName,
  avatar: user.avatar,
  is_active: user.isActive,
  is_superuser: user.isSuperuser,
  budget: renderBudgetSetting(budgetOfColumns(user.budgetNanoUsd, user.budgetPeriod, user.budgetSoft)),
  created_at: date(user.createdAt),
  updated_at: date(user.updatedAt),
})

const EXPIRIES: ReadonlySet<string> = new Set(["week", "month", "year", "never", "date"])

export const renderAllowList = (key: ApiKeyRow) => ({
  has_provider_restrictions: key.hasProviderRestrictions,
  allowed_provider_ids: key.hasProviderRestrictions ? key.allowedProviderIds : null,
})

export const renderApiKey = (key: ApiKeyRow) => ({
  id: key.id,
  user_id: key.userId,
  name: key.name,
  key_prefix: key.keyPrefix,
  expiry_type: (EXPIRIES.has(key.expiryType) ? key.expiryType : "never") as Expiry | "date",
  expires_at: key.expiresAt === null ? null : date(key.expiresAt),
  is_active: key.isActive,
  ...renderAllowList(key),
  requests_per_minute: key.requestsPerMinute,
  tokens_per_minute: key.tokensPerMinute,
  budget: renderBudgetSetting(key.budget),
  log_bodies: key.logBodies,
  created_at: date(key.createdAt),
  updated_at: date(key.updatedAt),
})

export const renderProviderKey = (providerId: string, key: AdminKeyRow) => ({
  id: key.id,
  provider_id: providerId,
  label: key.label,
  masked_key: key.keySuffix === "" ? "…" : `…${key.keySuffix}`,
  weight: key.weight,
  max_qps: key.maxQps,
  status: key.status,
  created_at: date(key.createdAt),
  updated_at: date(key.updatedAt),
})

/**
 * A custom header's value as responses show it: never the value — any header may carry a
 * credential, whatever its name — only `…` and, for values of 16 characters or more, the last four.
 */
export const maskHeaderValue = (value: string): string => `…${maskedSuffix(value)}`

export const maskHeaders = (headers: Readonly<Record<string, string>> | null): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) out[name] = maskHeaderValue(value)
  return out
}

const PROTOCOLS = new Set(["openai", "anthropic", "gemini"])

export const renderProvider = (
  row: AdminProviderRow,
  keys: ReadonlyArray<AdminKeyRow>,
  models: ReadonlyArray<AdminModelRow>,
) => {
  const aliases: Record<string, string> = {}
  for (const model of models)
    if (model.providerUuid === row.uuid && model.alias !== null) aliases[model.alias] = model.modelId
  return {
    id: row.providerId,
    name: row.name,
    protocol: (PROTOCOLS.has(row.protocol) ? row.protocol : "openai") as "openai" | "anthropic" | "gemini",
    base_url: row.baseUrl,
    provider_type: (row.providerType === "aggregator" ? "aggregator" : "native") as "native" | "aggregator",
    weight: row.weight,
    enabled: row.enabled,
    ...renderSettings(row.settings),
    retryable_status_codes: row.retryableStatusCodes,
    custom_headers: maskHeaders(row.customHeaders),
    models_path: row.modelsPath,
    chat_path: row.chatPath,
    responses_path: row.responsesPath,
    responses_disabled: row.responsesDisabled,
    messages_path: row.messagesPath,
    metadata:
      typeof row.metadata === "object" && row.metadata !== null && !Array.isArray(row.metadata)
        ? (row.metadata as Record<string, unknown>)
        : null,
    status: row.status,
    models: row.staticModels,
    aliases,
    keys: keys.filter((k) => k.providerUuid === row.uuid).map((k) => renderProviderKey(row.providerId, k)),
    created_at: date(row.createdAt),
    updated_at: date(row.updatedAt),
  }
}
