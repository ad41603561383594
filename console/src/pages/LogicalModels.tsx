import { useCallback, useEffect, useState } from "preact/hooks"
import type { LogicalModel, LogicalModelList } from "../api/RoutingTypes.js"
import type { Session } from "../api/Session.js"
import type { Provider } from "../api/Types.js"
import { messageOf, Notice } from "../Controls.js"
import { byPriority, policySummary } from "../logical/ModelDraft.js"
import { DecidePanel } from "./DecidePanel.js"
import { LogicalModelEditor } from "./LogicalModelEditor.js"

const Upstreams = ({ model }: { readonly model: LogicalModel }) => (
  <ol class="plain">
    {byPriority(model.upstreams).map((upstream) => (
      <li key={`${upstream.provider}/${upstream.model}`}>
        <code>
          {upstream.provider}/{upstream.model}
        </code>{" "}
        · priority {upstream.priority} · weight {upstream.weight}
      </li>
    ))}
  </ol>
)

/**
 * Logical models (superusers): each with its upstreams, priorities, weights and its own
 * timeouts/retries/rescue; create, edit (the whole model), delete with a confirmation; and the
 * decide panel, the plan `POST /routing/decide` would make.
 */
export const LogicalModels = ({ session }: { readonly session: Session }) => {
  const [models, setModels] = useState<ReadonlyArray<LogicalModel> | undefined>(undefined)
  const [providers, setProviders] = useState<ReadonlyArray<Provider> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [changed, setChanged] = useState<string | undefined>(undefined)
  const [editing, setEditing] = useState<LogicalModel | undefined>(undefined)

  const load = useCallback(() => {
    Promise.all([
      session.request<LogicalModelList>("GET", "/logical-models"),
      session.request<ReadonlyArray<Provider>>("GET", "/providers"),
    ]).then(
      ([list, known]) => {
        setModels(list.models)
        setProviders(known)
        setError(undefined)
      },
      (failure) => setError(messageOf(failure)),
    )
  }, [session])

  useEffect(load, [load])

  const remove = async (model: LogicalModel) => {
    if (!window.confirm(`Delete the logical model ${model.id}? Clients sending it get model_not_found.`)) return
    setChanged(undefined)
    try {
      await session.request("DELETE", `/logical-models/${encodeURIComponent(model.id)}`)
      if (editing?.id === model.id) setEditing(undefined)
      setChanged(`Logical model ${model.id} deleted.`)
      load()
    } catch (failure) {
      setError(messageOf(failure))
    }
  }

  const saved = (verb: string) => (model: LogicalModel) => {
    setEditing(undefined)
    setChanged(`Logical model ${model.id} ${verb}.`)
    load()
  }

  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Logical models</h1>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      {changed === undefined ? null : <Notice kind="ok">{changed}</Notice>}
      {models === undefined || providers === undefined ? (
        error === undefined ? (
          <p aria-busy="true">Loading…</p>
        ) : null
      ) : (
        <>
          {models.length === 0 ? (
            <p>No logical model yet: add one below.</p>
          ) : (
            <div class="table-wrap">
              <table class="stack">
                <caption class="visually-hidden">Logical models, their upstreams and settings</caption>
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Upstreams</th>
                    <th scope="col">Strategy</th>
                    <th scope="col">Timeouts, retries, rescue</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {models.map((model) => (
                    <tr key={model.id}>
                      <th scope="row">
                        {model.id}
                        {model.name === null ? null : <div class="hint">{model.name}</div>}
                        {model.enabled ? null : <div class="badge">disabled</div>}
                      </th>
                      <td data-label="Upstreams">
                        <Upstreams model={model} />
                      </td>
                      <td data-label="Strategy">{model.strategy.replace("_", " ")}</td>
                      <td data-label="Timeouts, retries, rescue">{policySummary(model)}</td>
                      <td data-label="Actions">
                        <div class="row">
                          <button
                            type="button"
                            class="secondary"
                            onClick={() => {
                              setChanged(undefined)
                              setEditing(model)
                            }}
                            aria-label={`Edit ${model.id}`}
                          >
                            Edit
                          </button>
                          <button
                            type="button"
                            class="danger"
                            onClick={() => void remove(model)}
                            aria-label={`Delete ${model.id}`}
                          >
                            Delete
                          </button>
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {providers.length === 0 ? (
            <p>Add a provider first: a logical model routes to providers' models.</p>
          ) : editing === undefined ? (
            <LogicalModelEditor
              key="create"
              session={session}
              providers={providers}
              model={undefined}
              onSaved={saved("created")}
              onCancel={undefined}
            />
          ) : (
            <LogicalModelEditor
              key={`edit-${editing.id}`}
              session={session}
              providers={providers}
              model={editing}
              onSaved={saved("saved")}
              onCancel={() => setEditing(undefined)}
            />
          )}
          <DecidePanel session={session} modelIds={models.map((model) => model.id)} />
        </>
      )}
    </section>
  )
}
