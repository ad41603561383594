import { useEffect, useId, useRef, useState } from "preact/hooks"
import type { LogicalModel } from "../api/RoutingTypes.js"
import { STRATEGIES } from "../api/RoutingTypes.js"
import type { Session } from "../api/Session.js"
import type { Provider } from "../api/Types.js"
import { Checkbox } from "../Checkbox.js"
import { Field, Notice, Select, useSubmit } from "../Controls.js"
import {
  addUpstream,
  bodyOf,
  draftOf,
  emptyDraft,
  type ModelDraft,
  moveUpstream,
  type RescueChoice,
  removeUpstream,
  type UpstreamDraft,
  updateUpstream,
} from "../logical/ModelDraft.js"

/** The policy's text fields: draft key, label, keyboard, hint. */
const POLICY_FIELDS: ReadonlyArray<
  readonly ["firstToken" | "idle" | "request" | "retries", string, "decimal" | "numeric", string | undefined]
> = [
  ["firstToken", "First-token timeout (s)", "decimal", "Until a stream's first token, headers included"],
  ["idle", "Idle timeout (s)", "decimal", "The longest silence inside a stream"],
  ["request", "Request timeout (s)", "decimal", "The whole request, retries and fallbacks included"],
  ["retries", "Retries", "numeric", "Of the same upstream after a transient failure, 0 to 5"],
]

const STRATEGY_OPTIONS = STRATEGIES.map((name) => [name, name.replace("_", " ")] as const)

const RESCUE_OPTIONS: ReadonlyArray<readonly [RescueChoice, string]> = [
  ["default", "Default (on)"],
  ["on", "On"],
  ["off", "Off"],
]

/** One upstream's row: provider, model (suggested from the provider's list), weight, priority, and its moves. */
const UpstreamRow = ({
  upstream,
  index,
  count,
  providers,
  onChange,
  onMove,
  onRemove,
}: {
  readonly upstream: UpstreamDraft
  readonly index: number
  readonly count: number
  readonly providers: ReadonlyArray<Provider>
  readonly onChange: (change: Partial<UpstreamDraft>) => void
  readonly onMove: (by: -1 | 1) => void
  readonly onRemove: () => void
}) => {
  const listId = useId()
  const n = index + 1
  const known = providers.find((provider) => provider.id === upstream.provider)
  const providerOptions: ReadonlyArray<readonly [string, string]> = [
    ...(known === undefined
      ? [[upstream.provider, upstream.provider === "" ? "Choose…" : upstream.provider] as const]
      : []),
    ...providers.map((provider) => [provider.id, provider.id] as const),
  ]
  return (
    <fieldset class="upstream">
      <legend>Upstream {n}</legend>
      <div class="grid">
        <Select
          label={`Upstream ${n} provider`}
          value={upstream.provider}
          onValue={(provider) => onChange({ provider })}
          options={providerOptions}
        />
        <Field
          label={`Upstream ${n} model`}
          value={upstream.model}
          onValue={(model) => onChange({ model })}
          list={listId}
          required
          spellcheck={false}
          hint="The provider's own model id"
        />
        <datalist id={listId}>
          {(known?.models ?? []).map((model) => (
            <option key={model} value={model} />
          ))}
        </datalist>
        <Field
          label={`Upstream ${n} weight`}
          value={upstream.weight}
          onValue={(weight) => onChange({ weight })}
          inputMode="decimal"
          hint="More than 0; a larger share of its tier"
        />
        <Field
          label={`Upstream ${n} priority`}
          value={upstream.priority}
          onValue={(priority) => onChange({ priority })}
          inputMode="numeric"
          hint="0 first; a higher tier only after the ones before failed"
        />
      </div>
      <div class="row">
        <button type="button" class="secondary" disabled={index === 0} onClick={() => onMove(-1)}>
          Move up<span class="visually-hidden"> upstream {n}</span>
        </button>
        <button type="button" class="secondary" disabled={index === count - 1} onClick={() => onMove(1)}>
          Move down<span class="visually-hidden"> upstream {n}</span>
        </button>
        <button type="button" class="danger" disabled={count === 1} onClick={onRemove}>
          Remove<span class="visually-hidden"> upstream {n}</span>
        </button>
      </div>
    </fieldset>
  )
}

/**
 * Creates a logical model (`model` absent) or edits one (`PUT`, the whole model but its id). The
 * API's validation message is shown next to the form.
 */
export const LogicalModelEditor = ({
  session,
  providers,
  model,
  onSaved,
  onCancel,
}: {
  readonly session: Session
  readonly providers: ReadonlyArray<Provider>
  readonly model: LogicalModel | undefined
  readonly onSaved: (saved: LogicalModel) => void
  readonly onCancel: (() => void) | undefined
}) => {
  const firstProvider = providers[0]?.id ?? ""
  const [draft, setDraft] = useState<ModelDraft>(() =>
    model === undefined ? emptyDraft(firstProvider) : draftOf(model),
  )
  const set = (change: Partial<ModelDraft>) => setDraft((current) => ({ ...current, ...change }))
  const { submit, error, busy } = useSubmit(async () => {
    const result = bodyOf(draft)
    if (result._tag === "Invalid") throw new Error(result.message)
    const saved =
      model === undefined
        ? await session.request<LogicalModel>("POST", "/logical-models", { id: draft.id.trim(), ...result.body })
        : await session.request<LogicalModel>("PUT", `/logical-models/${encodeURIComponent(model.id)}`, result.body)
    if (model === undefined) setDraft(emptyDraft(firstProvider))
    onSaved(saved)
  })
  const titleId = useId()
  const heading = useRef<HTMLHeadingElement>(null)
  // Opening a model to edit moves focus to its form.
  useEffect(() => {
    if (model !== undefined) heading.current?.focus()
  }, [])
  const title = model === undefined ? "Add a logical model" : `Edit ${model.id}`
  return (
    <form class="card" onSubmit={submit} aria-labelledby={titleId} autocomplete="off">
      <h2 id={titleId} ref={heading} tabIndex={-1}>
        {title}
      </h2>
      <div class="grid">
        {model === undefined ? (
          <Field
            label="Id"
            value={draft.id}
            onValue={(id) => set({ id })}
            required
            spellcheck={false}
            hint="The model name clients send: A-Z a-z 0-9 . _ : @ - (no '/')"
          />
        ) : null}
        <Field label="Name" value={draft.name} onValue={(name) => set({ name })} hint="Optional" />
        <Field
          label="Description"
          value={draft.description}
          onValue={(description) => set({ description })}
          hint="Optional"
        />
        <Select
          label="Strategy"
          value={draft.strategy}
          onValue={(strategy) => set({ strategy: strategy as ModelDraft["strategy"] })}
          options={STRATEGY_OPTIONS}
        />
        <Checkbox label="Enabled" checked={draft.enabled} onChecked={(enabled) => set({ enabled })} />
      </div>
      {draft.upstreams.map((upstream, index) => (
        <UpstreamRow
          // Rows are controlled inputs: the index is their identity.
          key={index}
          upstream={upstream}
          index={index}
          count={draft.upstreams.length}
          providers={providers}
          onChange={(change) => setDraft((current) => updateUpstream(current, index, change))}
          onMove={(by) => setDraft((current) => moveUpstream(current, index, by))}
          onRemove={() => setDraft((current) => removeUpstream(current, index))}
        />
      ))}
      <p>
        <button
          type="button"
          class="secondary"
          onClick={() => setDraft((current) => addUpstream(current, firstProvider))}
        >
          Add upstream
        </button>
      </p>
      <fieldset class="policy">
        <legend>Timeouts, retries, rescue</legend>
        <p class="hint">Empty: the gateway's defaults.</p>
        <div class="grid">
          {POLICY_FIELDS.map(([key, label, inputMode, hint]) => (
            <Field
              key={key}
              label={label}
              value={draft[key]}
              onValue={(value) => set({ [key]: value })}
              inputMode={inputMode}
              hint={hint}
            />
          ))}
          <Select
            label="Mid-stream rescue"
            value={draft.rescue}
            onValue={(rescue) => set({ rescue: rescue as RescueChoice })}
            options={RESCUE_OPTIONS}
          />
        </div>
      </fieldset>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      <div class="row">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : model === undefined ? "Create logical model" : "Save changes"}
        </button>
        {onCancel === undefined ? null : (
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  )
}
