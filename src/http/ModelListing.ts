import { Either } from "effect"
import type { ModelEntry } from "../upstream/ModelCatalog.js"

/**
 * The gateway's model list in each dialect's shape, as the official SDKs read it (the OpenAI
 * shape is `ModelCatalog`'s own): Anthropic `GET /v1/models` (`data`, `has_more`, `first_id`,
 * `last_id`; paged with `limit`, `after_id`, `before_id`) and Gemini `GET /v1beta/models`
 * (`models[{name: "models/…"}]`, paged with `pageSize` and `pageToken`). Pure.
 */

/** A paging parameter the client got wrong: the 400 names it. */
export interface PagingProblem {
  readonly param: string
  readonly message: string
}

const limitOf = (
  raw: string | undefined,
  param: string,
  fallback: number,
  max: number,
): Either.Either<number, PagingProblem> => {
  if (raw === undefined) return Either.right(fallback)
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN
  return n >= 1 && n <= max
    ? Either.right(n)
    : Either.left({ param, message: `${param} must be a whole number from 1 to ${max}` })
}

export const anthropicModel = (entry: ModelEntry) => ({
  type: "model" as const,
  id: entry.id,
  display_name: entry.id,
  created_at: new Date(entry.created * 1000).toISOString(),
})

/** The Gemini methods the gateway serves for a model (`streamGenerateContent` goes unlisted, as Gemini lists it). */
const GENERATION_METHODS = ["generateContent", "countTokens"] as const
const EMBEDDING_METHODS = ["embedContent", "batchEmbedContents", "countTokens"] as const

export const geminiModel = (entry: ModelEntry) => ({
  name: `models/${entry.id}`,
  baseModelId: entry.id,
  displayName: entry.id,
  description:
    entry.owned_by === "apiproxy" ? "A logical model of the gateway" : `Served by provider '${entry.owned_by}'`,
  supportedGenerationMethods: [...(entry.type === "embedding" ? EMBEDDING_METHODS : GENERATION_METHODS)],
})

/**
 * Anthropic's page: `limit` (1–1000, default 20) entries after `after_id` or before `before_id`
 * (an id not in the list gives an empty page), in the gateway's list order.
 */
export const anthropicPage = (
  entries: ReadonlyArray<ModelEntry>,
  query: {
    readonly limit?: string | undefined
    readonly after_id?: string | undefined
    readonly before_id?: string | undefined
  },
) =>
  Either.map(limitOf(query.limit, "limit", 20, 1000), (limit) => {
    let from = 0
    let to = entries.length
    if (query.after_id !== undefined) from = indexAfter(entries, query.after_id)
    if (query.before_id !== undefined) {
      to = Math.max(
        0,
        entries.findIndex((e) => e.id === query.before_id),
      )
      from = Math.max(from, to - limit)
    }
    const page = entries.slice(from, Math.min(to, from + limit)).map(anthropicModel)
    const hasMore = query.before_id !== undefined ? from > 0 : from + limit < to
    return { data: page, has_more: hasMore, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null }
  })

/** The index after the entry `id` (the list's end when it is not in the list). */
const indexAfter = (entries: ReadonlyArray<ModelEntry>, id: string): number => {
  const at = entries.findIndex((e) => e.id === id)
  return at < 0 ? entries.length : at + 1
}

/** A Gemini page token: the last id of the page before, base64url (opaque to clients). */
const pageTokenOf = (id: string) => Buffer.from(id, "utf8").toString("base64url")

/** Gemini's page: `pageSize` (1–1000, default 50) entries after the one `pageToken` names. */
export const geminiPage = (
  entries: ReadonlyArray<ModelEntry>,
  query: { readonly pageSize?: string | undefined; readonly pageToken?: string | undefined },
) =>
  Either.flatMap(limitOf(query.pageSize, "pageSize", 50, 1000), (size) => {
    let from = 0
    if (query.pageToken !== undefined && query.pageToken !== "") {
      const after = Buffer.from(query.pageToken, "base64url").toString("utf8")
      from = entries.findIndex((e) => e.id === after) + 1
      if (from === 0)
        return Either.left<PagingProblem>({ param: "pageToken", message: "pageToken is not a token this list gave" })
    }
    const page = entries.slice(from, from + size)
    const more = from + size < entries.length
    return Either.right({
      models: page.map(geminiModel),
      ...(more ? { nextPageToken: pageTokenOf(page.at(-1)!.id) } : {}),
    })
  })
