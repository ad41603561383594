import { CoreApi } from "./CoreApi.js"
import { LogicalModelsGroup } from "./LogicalModelsApi.js"
import { RoutingGroup } from "./RoutingApi.js"
import { UsageGroup } from "./UsageApi.js"

/**
 * The management API as served: the accounts/keys/providers groups of `CoreApi` plus the
 * routing groups (defined apart, as they import from CoreApi). API-level errors and
 * annotations apply to every group.
 */
export class GatewayManagementApi extends CoreApi.add(LogicalModelsGroup).add(RoutingGroup).add(UsageGroup) {}
