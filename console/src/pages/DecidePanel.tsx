import { useId, useState } from "preact/hooks"
import type { Decision } from "../api/RoutingTypes.js"
import type { Session } from "../api/Session.js"
import { Checkbox } from "../Checkbox.js"
import { Field, Notice, useSubmit } from "../Controls.js"
import { type DecideDraft, decideBodyOf, duration, emptyDecideDraft, planRows } from "../logical/DecidePlan.js"

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
              <th scope="col">Why</th>
              <th scope="col">Score</th>
              <th scope="col">Priority</th>
              <th scope="col">Circuit</th>
              <th scope="col">Health</th>
              <th scope="col">Weight</th>
              <th scope="col">Latency</th>
              <th scope="col">Error</th>
              <th scope="col">Cost</th>
              <th scope="col">Penalty</th>
              <th scope="col">Confidence</th>
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
                <td data-label="Why">{row.why}</td>
                <td data-label="Score">{row.score}</td>
                <td data-label="Priority">{row.priority}</td>
                <td data-label="Circuit">{row.circuit}</td>
                <td data-label="Health">{row.health}</td>
                <td data-label="Weight">{row.weight}</td>
                <td data-label="Latency">{row.latency}</td>
                <td data-label="Error">{row.error}</td>
                <td data-label="Cost">{row.cost}</td>
                <td data-label="Penalty">{row.penalty}</td>
                <td data-label="Confidence">{row.confidence}</td>
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
          <Field
            label="Conversation id"
            value={draft.conversationId}
            onValue={(conversationId) => set({ conversationId })}
            spellcheck={false}
            hint="A client's X-Session-Id: shows its sticky binding"
          />
          <Field
            label="API key id"
            value={draft.apiKeyId}
            onValue={(apiKeyId) => set({ apiKeyId })}
            spellcheck={false}
            hint="The session of this key's client; empty: yours"
          />
          <Field
            label="User id"
            value={draft.userId}
            onValue={(userId) => set({ userId })}
            spellcheck={false}
            hint="The session of this user (JWT clients)"
          />
          <Field
            label="Exclude providers"
            value={draft.exclude}
            onValue={(exclude) => set({ exclude })}
            spellcheck={false}
            hint="Provider ids, comma-separated"
          />
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
