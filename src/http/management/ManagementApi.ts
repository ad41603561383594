import { BudgetsGroup } from "./BudgetsApi.js"
import { CoreApi } from "./CoreApi.js"
import { LogicalModelsGroup } from "./LogicalModelsApi.js"
import { LogsGroup } from "./LogsApi.js"
import { RoutingGroup } from "./RoutingApi.js"
import { UsageGroup } from "./UsageApi.js"

/**
 * The whole management API, as served and documented (/openapi.json, /docs): the groups of
 * `CoreApi` plus the logical-model, routing, usage, budget and request-log groups (defined apart,
 * as they import from CoreApi). API-level errors and annotations apply to every group.
 */
export class ManagementApi extends CoreApi.add(LogicalModelsGroup)
  .add(RoutingGroup)
  .add(UsageGroup)
  .add(BudgetsGroup)
  .add(LogsGroup) {}
