import type { SqlClient } from "@effect/sql"
import type { Effect } from "effect"
import _0001_init from "./0001_init.js"
import _0002_usage from "./0002_usage.js"
import _0003_token_revocation from "./0003_token_revocation.js"
import _0004_custom_headers_encrypted from "./0004_custom_headers_encrypted.js"
import _0005_logical_model_policy from "./0005_logical_model_policy.js"
import _0006_provider_settings from "./0006_provider_settings.js"
import _0007_responses from "./0007_responses.js"
import _0009_usage_cost from "./0009_usage_cost.js"
import _0010_request_log from "./0010_request_log.js"
import _0011_budgets from "./0011_budgets.js"

/**
 * Every migration, by `<id>_<name>`, loaded with `Migrator.fromRecord`. Add new migrations
 * here with a static import: ids must increase and applied migrations are never edited.
 */
export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "0001_init": _0001_init,
  "0002_usage": _0002_usage,
  "0003_token_revocation": _0003_token_revocation,
  "0004_custom_headers_encrypted": _0004_custom_headers_encrypted,
  "0005_logical_model_policy": _0005_logical_model_policy,
  "0006_provider_settings": _0006_provider_settings,
  "0007_responses": _0007_responses,
  "0009_usage_cost": _0009_usage_cost,
  "0010_request_log": _0010_request_log,
  "0011_budgets": _0011_budgets,
}
