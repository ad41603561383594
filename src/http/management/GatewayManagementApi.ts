import { ManagementApi } from "../ManagementApi.js"
import { LogicalModelsGroup } from "./LogicalModelsApi.js"
import { RoutingGroup } from "./RoutingApi.js"
import { UsageGroup } from "./UsageApi.js"

/**
 * The management API as served: the accounts/keys/providers groups of `ManagementApi` plus the
 * routing groups (defined apart, as they import from ManagementApi). API-level errors and
 * annotations apply to every group.
 */
export class GatewayManagementApi extends ManagementApi.add(LogicalModelsGroup).add(RoutingGroup).add(UsageGroup) {}
