import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Schema } from "effect"
import { BudgetSetting, BudgetStatusResponse } from "./BudgetSchemas.js"
import { Authenticated, Superuser } from "./CoreApi.js"

/** A user's budget and an API key's, with what their current period used (README "Budgets"). */

const userId = HttpApiSchema.param("user_id", Schema.String)
const keyId = HttpApiSchema.param("key_id", Schema.String)

export class BudgetsGroup extends HttpApiGroup.make("budgets")
  .add(
    HttpApiEndpoint.get("getUserBudget")`/users/${userId}/budget`
      .addSuccess(BudgetStatusResponse)
      .middleware(Authenticated)
      .annotate(
        OpenApi.Description,
        "The user's budget over all their keys and its use in the current period: the user itself or a superuser. 404 when none is set.",
      ),
  )
  .add(
    HttpApiEndpoint.put("setUserBudget")`/users/${userId}/budget`
      .setPayload(BudgetSetting)
      .addSuccess(BudgetStatusResponse)
      .middleware(Superuser)
      .annotate(
        OpenApi.Description,
        "Sets (or replaces) the user's budget, on every instance at once. Superusers only.",
      ),
  )
  .add(
    HttpApiEndpoint.del("deleteUserBudget")`/users/${userId}/budget`
      .addSuccess(HttpApiSchema.NoContent)
      .middleware(Superuser)
      .annotate(OpenApi.Description, "Removes the user's budget. Superusers only."),
  )
  .add(
    HttpApiEndpoint.get("getKeyBudget")`/users/${userId}/api-keys/${keyId}/budget`
      .addSuccess(BudgetStatusResponse)
      .middleware(Authenticated)
      .annotate(
        OpenApi.Description,
        "The key's budget and its use in the current period: the key's owner (a login session) or a superuser. 404 when none is set.",
      ),
  )
  .add(
    HttpApiEndpoint.put("setKeyBudget")`/users/${userId}/api-keys/${keyId}/budget`
      .setPayload(BudgetSetting)
      .addSuccess(BudgetStatusResponse)
      .middleware(Superuser)
      .annotate(
        OpenApi.Description,
        "Sets (or replaces) the key's budget, on every instance at once. Superusers only: an owner may give a key a budget when creating it (POST …/api-keys with budget), not change it afterwards.",
      ),
  )
  .add(
    HttpApiEndpoint.del("deleteKeyBudget")`/users/${userId}/api-keys/${keyId}/budget`
      .addSuccess(HttpApiSchema.NoContent)
      .middleware(Superuser)
      .annotate(OpenApi.Description, "Removes the key's budget. Superusers only."),
  )
  .annotate(OpenApi.Title, "Budgets")
  .annotate(
    OpenApi.Description,
    "Spend limits per API key and per user, in USD per UTC day, week (from Monday) or month, or in total. A data-plane request whose key's or user's hard budget is used up is refused with 429 budget_exceeded before any upstream is called; a soft budget is only logged and counted. Spend is what priced answers cost (GET /usage's cost_usd).",
  ) {}
