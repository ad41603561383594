import { Effect, Schema } from "effect"
import { type ResponseRow, ResponseStore } from "../conversation/ResponseStore.js"
import { StoreUnavailable } from "../identity/ApiKeyAuth.js"
import type { Principal } from "../identity/Principal.js"
import { asArray, isObject } from "../protocol/Json.js"
import { type ItemListQuery, itemPage } from "../protocol/openai-responses/Stored.js"
import { keepsResponses, type Provider } from "../registry/Provider.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { UpstreamTransportError } from "../shared/UpstreamFailure.js"
import { UpstreamClient } from "../upstream/UpstreamClient.js"
import { joinUrl } from "../upstream/UpstreamHeaders.js"
import { InvalidRequest } from "./GatewayError.js"
import { responseOwner } from "./ResponsesTurn.js"

/** No response of the caller's has this id (another owner's and expired ones included): 404. */
export class ResponseNotFound extends Schema.TaggedError<ResponseNotFound>()("ResponseNotFound", {
  id: Schema.String,
}) {}

const storeDown = () => new StoreUnavailable({ message: "The response store is unavailable; retry later" })

const parsed = (text: string | null): unknown => {
  try {
    return text === null ? undefined : JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A provider's 2xx answer is relayed only when it is a JSON object. */
const jsonObjectText = (row: ResponseRow, text: string) =>
  isObject(parsed(text))
    ? Effect.succeed(text)
    : Effect.fail(
        new UpstreamTransportError({
          provider: row.provider ?? "",
          model: row.model,
          reason: "malformed",
          message: "upstream answered 2xx with a body that is not a JSON object",
        }),
      )

/**
 * `GET`/`DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items` and `POST …/cancel` (docs/ARCHITECTURE.md,
 * "Stored Responses"): the caller's own stored responses only. One the gateway keeps is answered
 * from its copy; one a provider keeps is asked of that provider, with the key that created it.
 */
export class StoredResponses extends Effect.Service<StoredResponses>()("gateway/gateway/StoredResponses", {
  effect: Effect.gen(function* () {
    const store = yield* ResponseStore
    const registry = yield* ProviderRegistry
    const upstream = yield* UpstreamClient

    const rowOf = (principal: Principal, id: string) =>
      Effect.flatMap(Effect.mapError(store.find(responseOwner(principal), id), storeDown), (row) =>
        row === undefined ? Effect.fail(new ResponseNotFound({ id })) : Effect.succeed(row),
      )

    /** Calls the provider holding `row` at `suffix` under its Responses path (the row's key preferred). */
    const askProvider = Effect.fnUntraced(function* (
      row: ResponseRow,
      method: "GET" | "POST" | "DELETE",
      suffix: string,
    ) {
      const snapshot = yield* registry.current
      const provider: Provider | undefined = snapshot.providers.get(row.provider ?? "")
      if (provider === undefined || !keepsResponses(provider) || provider.keys.length === 0) {
        const message = `the response is held by provider '${row.provider}', which is not configured to keep Responses any more`
        return yield* new UpstreamTransportError({
          provider: row.provider ?? "",
          model: row.model,
          reason: "connect",
          message,
        })
      }
      const key = provider.keys.find((k) => k.id === row.providerKeyId) ?? provider.keys[0]!
      const url = `${joinUrl(provider.baseUrl, provider.paths.responses!)}/${encodeURIComponent(row.id)}${suffix}`
      const answer = yield* upstream.send({
        provider,
        key,
        model: row.model,
        url,
        method,
        stream: false,
        masked: false,
      })
      return yield* jsonObjectText(row, answer.text)
    })

    /** The response object, as JSON text. */
    const retrieve = Effect.fnUntraced(function* (principal: Principal, id: string) {
      const row = yield* rowOf(principal, id)
      if (row.provider !== null) return yield* askProvider(row, "GET", "")
      return row.response ?? "{}"
    })

    /** Deletes it (at the provider too, for one it keeps): OpenAI's deletion object, as JSON text. */
    const remove = Effect.fnUntraced(function* (principal: Principal, id: string) {
      const row = yield* rowOf(principal, id)
      const answer =
        row.provider === null
          ? JSON.stringify({ id, object: "response", deleted: true })
          : yield* askProvider(row, "DELETE", "")
      yield* Effect.mapError(store.remove(row.owner, id), storeDown)
      return answer
    })

    /** One page of its input items (earlier turns included), as JSON text. */
    const inputItems = Effect.fnUntraced(function* (principal: Principal, id: string, query: ItemListQuery) {
      const row = yield* rowOf(principal, id)
      if (row.provider === null) return JSON.stringify(itemPage(asArray(parsed(row.inputItems)), query))
      const params = new URLSearchParams({ limit: String(query.limit), order: query.order })
      if (query.after !== undefined) params.set("after", query.after)
      return yield* askProvider(row, "GET", `/input_items?${params.toString()}`)
    })

    /** Cancels a background response a provider keeps; one the gateway keeps was never in the background (400, as OpenAI). */
    const cancel = Effect.fnUntraced(function* (principal: Principal, id: string) {
      const row = yield* rowOf(principal, id)
      if (row.provider === null)
        return yield* new InvalidRequest({
          message: "Only responses created with background: true can be cancelled",
          code: "not_background",
        })
      return yield* askProvider(row, "POST", "/cancel")
    })

    return { retrieve, remove, inputItems, cancel } as const
  }),
}) {}
