import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect, Option } from "effect"
import { ProviderRegistry } from "../../registry/ProviderRegistry.js"
import { CircuitBreaker, providerScope, upstreamScope } from "../../routing/CircuitBreaker.js"
import { worseCircuit } from "../../routing/Plan.js"
import { policyOf } from "../../shared/LogicalModelPolicy.js"
import {
  type LogicalModelInput,
  type LogicalModelRecord,
  LogicalModelRepository,
  type UnknownProviders,
} from "../../storage/LogicalModelRepository.js"
import { BadRequest, Conflict, NotFound } from "./CoreApi.js"
import { managed } from "./Errors.js"
import type { UpdateLogicalModelRequest } from "./LogicalModelsApi.js"
import { ManagementApi } from "./ManagementApi.js"

const render = (m: LogicalModelRecord) => ({
  id: m.id,
  name: m.displayName,
  description: m.description,
  enabled: m.enabled,
  strategy: m.strategy,
  upstreams: m.upstreams.map((u) => ({
    provider: u.providerId,
    model: u.modelId,
    weight: u.weight,
    priority: u.priority,
  })),
  ...m.policy,
  created_at: m.createdAt,
  updated_at: m.updatedAt,
})

const toInput = (payload: typeof UpdateLogicalModelRequest.Type): LogicalModelInput => ({
  displayName: payload.name,
  description: payload.description,
  enabled: payload.enabled,
  strategy: payload.strategy,
  upstreams: payload.upstreams.map((u) => ({
    providerId: u.provider,
    modelId: u.model,
    weight: u.weight,
    priority: u.priority,
  })),
  policy: policyOf(payload),
})

const unknownProviders = (e: UnknownProviders) =>
  Effect.fail(
    new BadRequest({
      message: `Unknown provider(s): ${e.providerIds.join(", ")}`,
      details: { missing_provider_ids: e.providerIds },
    }),
  )

const notFound = (id: string) => new NotFound({ message: `Logical model '${id}' not found` })

/** The same (provider, model) twice would be tried twice: refused. */
const duplicates = (payload: typeof UpdateLogicalModelRequest.Type) => {
  const seen = new Set<string>()
  for (const u of payload.upstreams) {
    const key = `${u.provider}/${u.model}`
    if (seen.has(key)) return Effect.fail(new BadRequest({ message: `Upstream '${key}' is listed twice` }))
    seen.add(key)
  }
  return Effect.void
}

export const LogicalModelsHandlers = HttpApiBuilder.group(ManagementApi, "logicalModels", (handlers) =>
  Effect.gen(function* () {
    const repo = yield* LogicalModelRepository
    const registry = yield* ProviderRegistry
    const breaker = yield* CircuitBreaker

    const find = (id: string) =>
      Effect.flatMap(repo.find(id), Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed }))

    return handlers
      .handle("list", () =>
        managed(Effect.map(repo.list(), (models) => ({ models: models.map(render), total: models.length }))),
      )
      .handle("create", ({ payload }) =>
        managed(
          Effect.gen(function* () {
            yield* duplicates(payload)
            const created = yield* repo.create(payload.id, toInput(payload)).pipe(
              Effect.catchTags({
                UnknownProviders: unknownProviders,
                LogicalModelExists: (e) =>
                  Effect.fail(new Conflict({ message: `Logical model '${e.id}' already exists` })),
              }),
            )
            yield* registry.afterChange
            return render(created)
          }),
        ),
      )
      .handle("get", ({ path }) => managed(Effect.map(find(path.id), render)))
      .handle("update", ({ path, payload }) =>
        managed(
          Effect.gen(function* () {
            yield* duplicates(payload)
            const updated = yield* repo
              .replace(path.id, toInput(payload))
              .pipe(Effect.catchTag("UnknownProviders", unknownProviders))
            if (Option.isNone(updated)) return yield* notFound(path.id)
            yield* registry.afterChange
            return render(updated.value)
          }),
        ),
      )
      .handle("delete", ({ path }) =>
        managed(
          Effect.gen(function* () {
            if (!(yield* repo.remove(path.id))) return yield* notFound(path.id)
            yield* registry.afterChange
          }),
        ),
      )
      .handle("upstreams", ({ path }) =>
        managed(
          Effect.gen(function* () {
            const model = yield* find(path.id)
            const snapshot = yield* registry.current
            const ids = [...new Set(model.upstreams.map((u) => u.providerId))]
            const circuits = yield* breaker.views([
              ...ids.map(providerScope),
              ...model.upstreams.map((u) => upstreamScope(u.providerId, u.modelId)),
            ])
            return {
              logical_model: model.id,
              upstreams: model.upstreams.map((u) => {
                const provider = snapshot.providers.get(u.providerId)
                return {
                  provider: u.providerId,
                  model: u.modelId,
                  weight: u.weight,
                  priority: u.priority,
                  provider_enabled: provider?.enabled === true && provider.keys.length > 0,
                  circuit: worseCircuit(
                    circuits.get(upstreamScope(u.providerId, u.modelId)),
                    circuits.get(providerScope(u.providerId)),
                  ).status,
                }
              }),
            }
          }),
        ),
      )
  }),
)
