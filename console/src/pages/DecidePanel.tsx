import { useId, useState } from "preact/hooks"
import type { Decision } from "../api/RoutingTypes.js"
import type { Session } from "../api/Session.js"
import { Checkbox } from "../Checkbox.js"
import { Field, Notice, useSubmit } from "../Controls.js"
import {
  type DecideDraft,
  decideBodyOf,
  duration,
  emptyDecideDraft,
  PLAN_COLUMNS,
  planRows,
} from "../logical/DecidePlan.js"

/** The optional text fields: draft key, label, hint. */
const SESSION_FIELDS: ReadonlyArray<readonly ["conversationId" | "apiKeyId" | "userId" | "exclude", string, string]> = [
  ["conversationId", "Conversation id", "A client's X-Session-Id: shows its sticky binding"],
  ["apiKeyId", "API key id", "The session of this key's client; empty: yours"],
  ["userId", "User id", "The session of this user (JWT clients)"],
  ["exclude", "Exclude providers", "Provider ids, comma-separated"],
]

const Plan = ({ decision }: { readonly decision: Decision }) => {
  const rows = planRows(decision)
  return (
    <div class="decision">
      <dl class="facts">
        <dt>Resolved as</dt>
        <dd>
          {decision.resolved_as} ({decision.source})
        </dd>
        <dt>Strategy</dt>
        <dd>{decision.strategy}</dd>
        <dt>Selected</dt>
        <dd>
          {decision.selected_upstream === null
            ? "none"
            : `${decision.selected_upstream.provider}/${decision.selected_upstream.model}`}
        </dd>
        <dt>Sticky</dt>
        <dd>
          {decision.sticky}
          {decision.bound ? " · bound now" : ""}
        </dd>
        {decision.retry_after_ms === null ? null : (
          <>
            <dt>Retry after</dt>
            <dd>{duration(decision.retry_after_ms)}</dd>
          </>
        )}
        <dt>Decided in</dt>
        <dd>{decision.decision_time_ms.toFixed(2)} ms</dd>
      </dl>
      <p class="reasoning" role="status">
        {decision.reasoning}
      </p>
      <div class="table-wrap">
        <table class="stack plan">
          <caption class="visually-hidden">The plan: candidates in the order they would be tried, with scores</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Upstream</th>
              {PLAN_COLUMNS.map(([, label]) => (
                <th key={label} scope="col">
                  {label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={`${row.order}-${row.upstream}`} class={row.selected ? "selected" : undefined}>
                <td data-label="#">{row.order}</td>
                <th scope="row">
                  {row.upstream}
                  {row.selected ? <span class="badge healthy">selected</span> : null}
                </th>
                {PLAN_COLUMNS.map(([key, label]) => (
                  <td key={key} data-label={label}>
                    {row[key]}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="hint">
        score = weight − α·latency − β·error − γ·cost − δ·penalty, with the strategy's coefficients; latency, error and
        cost are normalised to 0…1, and evidence with little confidence counts as neutral.
      </p>
    </div>
  )
}

/**
 * The routing decision for a model name, as `POST /routing/decide` makes it: a dry run (nothing
 * changes unless "bind" is ticked), its plan shown as a table with each candidate's score.
 */
export const DecidePanel = ({
  session,
  modelIds,
}: {
  readonly session: Session
  readonly modelIds: ReadonlyArray<string>
}) => {
  const [draft, setDraft] = useState<DecideDraft>(emptyDecideDraft)
  const [decision, setDecision] = useState<Decision | undefined>(undefined)
  const set = (change: Partial<DecideDraft>) => setDraft((current) => ({ ...current, ...change }))
  const { submit, error, busy } = useSubmit(async () => {
    setDecision(undefined)
    setDecision(await session.request<Decision>("POST", "/routing/decide", decideBodyOf(draft)))
  })
  const titleId = useId()
  const listId = useId()
  return (
    <section class="card decide" aria-labelledby={titleId}>
      <h2 id={titleId}>Decide</h2>
      <p class="hint">
        The plan the gateway would make for the next request: a dry run, nothing changes unless you bind.
      </p>
      <form onSubmit={submit} autocomplete="off" aria-label="Routing decision">
        <div class="grid">
          <Field
            label="Model name"
            value={draft.model}
            onValue={(model) => set({ model })}
            list={listId}
            required
            spellcheck={false}
            hint="A logical model, provider/model, or any model a provider lists"
          />
          <datalist id={listId}>
            {modelIds.map((id) => (
              <option key={id} value={id} />
            ))}
          </datalist>
          {SESSION_FIELDS.map(([key, label, hint]) => (
            <Field
              key={key}
              label={label}
              value={draft[key]}
              onValue={(value) => set({ [key]: value })}
              spellcheck={false}
              hint={hint}
            />
          ))}
          <Checkbox
            label="Bind the conversation"
            checked={draft.bind}
            onChecked={(bind) => set({ bind })}
            hint="Binds the conversation id to the selected upstream (changes routing)"
          />
        </div>
        {error === undefined ? null : <Notice kind="error">{error}</Notice>}
        <button type="submit" disabled={busy}>
          {busy ? "Deciding…" : "Decide"}
        </button>
      </form>
      {decision === undefined ? null : <Plan decision={decision} />}
    </section>
  )
}
