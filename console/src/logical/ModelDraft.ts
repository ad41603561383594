import type { LogicalModel, LogicalModelBody, LogicalUpstream, ModelPolicy, Strategy } from "../api/RoutingTypes.js"

/**
 * The logical-model form's state, as typed (text), and its conversion to and from the management
 * API's body. Only what cannot be sent at all (text that is not a number) is refused here; every
 * range and rule (a positive weight, retries 0 to 5, a known provider…) is the API's to check, so
 * the form shows the API's own message.
 */

export interface UpstreamDraft {
  readonly provider: string
  readonly model: string
  readonly weight: string
  readonly priority: string
}

/** Mid-stream rescue: the gateway's default (on), or this model's own setting. */
export type RescueChoice = "default" | "on" | "off"

export interface ModelDraft {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly enabled: boolean
  readonly strategy: Strategy
  readonly upstreams: ReadonlyArray<UpstreamDraft>
  /** Seconds, empty for the gateway's default. */
  readonly firstToken: string
  readonly idle: string
  readonly request: string
  readonly retries: string
  readonly rescue: RescueChoice
}

export const emptyUpstream = (provider = ""): UpstreamDraft => ({ provider, model: "", weight: "1", priority: "0" })

export const emptyDraft = (provider = ""): ModelDraft => ({
  id: "",
  name: "",
  description: "",
  enabled: true,
  strategy: "balanced",
  upstreams: [emptyUpstream(provider)],
  firstToken: "",
  idle: "",
  request: "",
  retries: "",
  rescue: "default",
})

const text = (value: number | undefined): string => (value === undefined ? "" : String(value))

/** Upstreams in the order the gateway tries their tiers (a stable sort: ties keep the API's order). */
export const byPriority = (upstreams: ReadonlyArray<LogicalUpstream>): ReadonlyArray<LogicalUpstream> =>
  [...upstreams].sort((a, b) => a.priority - b.priority)

/** A stored model as the form shows it: upstreams in the order the gateway tries their tiers. */
export const draftOf = (model: LogicalModel): ModelDraft => ({
  id: model.id,
  name: model.name ?? "",
  description: model.description ?? "",
  enabled: model.enabled,
  strategy: model.strategy,
  upstreams: byPriority(model.upstreams).map((u) => ({
    provider: u.provider,
    model: u.model,
    weight: String(u.weight),
    priority: String(u.priority),
  })),
  firstToken: text(model.timeouts?.first_token),
  idle: text(model.timeouts?.idle),
  request: text(model.timeouts?.request),
  retries: text(model.retries),
  rescue: model.rescue === undefined ? "default" : model.rescue ? "on" : "off",
})

export type BodyResult =
  | { readonly _tag: "Body"; readonly body: LogicalModelBody }
  | { readonly _tag: "Invalid"; readonly message: string }

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i

const nullIfEmpty = (value: string): string | null => (value.trim() === "" ? null : value.trim())

const optional = <K extends string>(key: K, value: number | undefined): { [P in K]?: number } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: number }

/** The body of `PUT /logical-models/{id}` (and of the create, with the id added); every text that is no number named at once. */
export const bodyOf = (draft: ModelDraft): BodyResult => {
  const problems: Array<string> = []
  /** Empty: left out (the default); a number: that number; anything else: a problem naming the field. */
  const numberOf = (label: string, value: string): number | undefined => {
    const trimmed = value.trim()
    if (trimmed === "") return undefined
    if (NUMBER.test(trimmed)) return Number(trimmed)
    problems.push(`${label}: expected a number, got '${trimmed}'`)
    return undefined
  }
  const upstreams = draft.upstreams.map(
    (u, index): LogicalUpstream => ({
      provider: u.provider.trim(),
      model: u.model.trim(),
      weight: numberOf(`Upstream ${index + 1} weight`, u.weight) ?? 1,
      priority: numberOf(`Upstream ${index + 1} priority`, u.priority) ?? 0,
    }),
  )
  const timeouts = {
    ...optional("first_token", numberOf("First-token timeout", draft.firstToken)),
    ...optional("idle", numberOf("Idle timeout", draft.idle)),
    ...optional("request", numberOf("Request timeout", draft.request)),
  }
  const retries = numberOf("Retries", draft.retries)
  if (problems.length > 0) return { _tag: "Invalid", message: problems.join("; ") }
  const policy: ModelPolicy = {
    ...(Object.keys(timeouts).length === 0 ? {} : { timeouts }),
    ...(retries === undefined ? {} : { retries }),
    ...(draft.rescue === "default" ? {} : { rescue: draft.rescue === "on" }),
  }
  return {
    _tag: "Body",
    body: {
      name: nullIfEmpty(draft.name),
      description: nullIfEmpty(draft.description),
      enabled: draft.enabled,
      strategy: draft.strategy,
      upstreams,
      ...policy,
    },
  }
}

export const addUpstream = (draft: ModelDraft, provider = ""): ModelDraft => ({
  ...draft,
  upstreams: [...draft.upstreams, emptyUpstream(provider)],
})

export const removeUpstream = (draft: ModelDraft, index: number): ModelDraft => ({
  ...draft,
  upstreams: draft.upstreams.filter((_, at) => at !== index),
})

export const updateUpstream = (draft: ModelDraft, index: number, change: Partial<UpstreamDraft>): ModelDraft => ({
  ...draft,
  upstreams: draft.upstreams.map((u, at) => (at === index ? { ...u, ...change } : u)),
})

/**
 * Moves an upstream one place up (-1) or down (1). The gateway keeps upstreams in priority order
 * (ties by provider and model), so the two rows also swap their priorities: a move between tiers
 * is a change of tier; inside one tier the weighted draw and the scores decide, not the order.
 */
export const moveUpstream = (draft: ModelDraft, index: number, by: -1 | 1): ModelDraft => {
  const other = index + by
  const a = draft.upstreams[index]
  const b = draft.upstreams[other]
  if (a === undefined || b === undefined) return draft
  const upstreams = [...draft.upstreams]
  upstreams[index] = { ...b, priority: a.priority }
  upstreams[other] = { ...a, priority: b.priority }
  return { ...draft, upstreams }
}

/** "first token 10 s · idle 30 s · request 120 s · 1 retry · no rescue", or "defaults". */
export const policySummary = (policy: ModelPolicy): string => {
  const parts: Array<string> = []
  const t = policy.timeouts
  if (t?.first_token !== undefined) parts.push(`first token ${t.first_token} s`)
  if (t?.idle !== undefined) parts.push(`idle ${t.idle} s`)
  if (t?.request !== undefined) parts.push(`request ${t.request} s`)
  if (policy.retries !== undefined) parts.push(`${policy.retries} ${policy.retries === 1 ? "retry" : "retries"}`)
  if (policy.rescue !== undefined) parts.push(policy.rescue ? "rescue on" : "no rescue")
  return parts.length === 0 ? "defaults" : parts.join(" · ")
}
