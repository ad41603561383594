import { Fragment } from "preact"
import { useEffect, useMemo, useState } from "preact/hooks"
import { type Callers, loadCallers } from "../api/Callers.js"
import {
  DEFAULT_PAGE_SIZE,
  isoOfLocal,
  type LogFilters,
  type LogView,
  localInputOf,
  logsPathOf,
  PAGE_SIZES,
  searchOf,
  viewOf,
} from "../api/LogQuery.js"
import type { Session } from "../api/Session.js"
import type { LogPage, LogRow, User } from "../api/Types.js"
import { Field, messageOf, Notice, Select } from "../Controls.js"
import { callerText, costText, durationText, modelText, NONE, outcomeOf, timeText, tokensText } from "./LogFormat.js"
import { RequestDetail } from "./RequestDetail.js"

const COLUMNS = 12

/** The filters typed in, each checked as the API checks it (the API has the last word). */
const TEXT_FILTERS: ReadonlyArray<{
  readonly name: "model" | "provider" | "status" | "error_class"
  readonly label: string
  readonly maxLength: number
  readonly pattern?: string
  readonly hint: string
}> = [
  { name: "model", label: "Model", maxLength: 200, hint: "Asked for or served" },
  { name: "provider", label: "Provider", maxLength: 50, hint: "The one that served" },
  {
    name: "status",
    label: "Status",
    maxLength: 3,
    pattern: "[1-5]([0-9][0-9]|[xX][xX])",
    hint: "Exact (429) or a class (5xx)",
  },
  {
    name: "error_class",
    label: "Error class",
    maxLength: 64,
    pattern: "[A-Za-z][A-Za-z0-9_]{0,63}",
    hint: "e.g. UpstreamStatusError",
  },
]

/** The page's query string, kept in step with the address bar (back and forward included). */
const useSearch = () => {
  const [search, setSearch] = useState(location.search)
  useEffect(() => {
    const onPop = () => setSearch(location.search)
    addEventListener("popstate", onPop)
    return () => removeEventListener("popstate", onPop)
  }, [])
  const go = (view: LogView) => {
    const next = searchOf(view)
    if (next !== location.search) history.pushState(null, "", `${location.pathname}${next}`)
    setSearch(next)
  }
  return [search, go] as const
}

/** The form's values: the view's filters, its times as `datetime-local` values. */
const draftOf = (filters: LogFilters): LogFilters => ({
  ...filters,
  from: localInputOf(filters.from),
  to: localInputOf(filters.to),
})

/** Options for a filter's select: "any", the known values, and the current one even when unknown. */
const optionsOf = (
  any: string,
  known: ReadonlyArray<readonly [string, string]>,
  current: string | undefined,
): ReadonlyArray<readonly [string, string]> => [
  ["", any],
  ...known,
  ...(current === undefined || current === "" || known.some(([value]) => value === current)
    ? []
    : [[current, current] as const]),
]

/** Where the pager is: `Page 2 · 25 requests` (an older page opened from a link has no number). */
const pageText = (page: LogPage, view: LogView, trail: ReadonlyArray<string>): string => {
  const where = view.cursor === undefined ? "Page 1" : trail.length === 0 ? "An older page" : `Page ${trail.length + 1}`
  return `${where} · ${page.rows.length} ${page.rows.length === 1 ? "request" : "requests"}`
}

const StatusCell = ({ row }: { readonly row: LogRow }) => {
  const outcome = outcomeOf(row)
  return (
    <>
      <td data-label="Status">{row.status}</td>
      <td data-label="Outcome">
        <span class={`badge outcome-${outcome.replace(" ", "-")}`}>{outcome}</span>
      </td>
    </>
  )
}

/**
 * The request log (`GET /logs`): newest first, a page at a time, filtered by the form (whose
 * values live in the address, so a filtered view survives a reload and the back button). Each
 * row opens in place to show every attempt, tokens, cost and error. The API decides whose rows
 * are shown: a user's own keys', or everyone's for a superuser.
 */
export const RequestLog = ({ session, me }: { readonly session: Session; readonly me: User }) => {
  const [search, go] = useSearch()
  const view = useMemo(() => viewOf(search), [search])
  const [draft, setDraft] = useState<LogFilters>(() => draftOf(view.filters))
  const [page, setPage] = useState<LogPage | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [callers, setCallers] = useState<Callers | undefined>(undefined)
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set())
  /** The cursors of the newer pages walked through to this one ("" for the first). */
  const [trail, setTrail] = useState<ReadonlyArray<string>>([])
  const [reloads, setReloads] = useState(0)

  useEffect(() => {
    loadCallers(session, me).then(setCallers, () => setCallers(undefined))
  }, [session, me])

  useEffect(() => setDraft(draftOf(view.filters)), [view])

  useEffect(() => {
    let current = true
    setPage(undefined)
    setError(undefined)
    session.request<LogPage>("GET", logsPathOf(view)).then(
      (answer) => {
        if (current) setPage(answer)
      },
      (failure) => {
        if (current) setError(messageOf(failure))
      },
    )
    return () => {
      current = false
    }
  }, [session, view, reloads])

  const set = (name: keyof LogFilters) => (value: string) => setDraft((before) => ({ ...before, [name]: value }))

  const apply = (event: Event) => {
    event.preventDefault()
    setTrail([])
    setOpen(new Set())
    go({
      filters: {
        ...draft,
        from: isoOfLocal(draft.from ?? ""),
        to: isoOfLocal(draft.to ?? ""),
        limit: draft.limit === DEFAULT_PAGE_SIZE ? undefined : draft.limit,
      },
    })
  }
  const clear = () => {
    setTrail([])
    setOpen(new Set())
    go({ filters: {} })
  }
  const older = (cursor: string) => {
    setTrail((before) => [...before, view.cursor ?? ""])
    setOpen(new Set())
    go({ filters: view.filters, cursor })
  }
  const newer = () => {
    const previous = trail.at(-1) ?? ""
    setTrail((before) => before.slice(0, -1))
    setOpen(new Set())
    go(previous === "" ? { filters: view.filters } : { filters: view.filters, cursor: previous })
  }
  const toggle = (id: string) =>
    setOpen((before) => {
      const next = new Set(before)
      if (!next.delete(id)) next.add(id)
      return next
    })

  const keyOptions = (callers?.keys ?? []).map((key) => {
    const owner = callers!.users.length > 1 ? callers!.users.find((user) => user.id === key.user_id) : undefined
    return [key.id, `${key.name} (${key.key_prefix}…)${owner === undefined ? "" : ` · ${owner.username}`}`] as const
  })
  const userOptions = (callers?.users ?? []).map((user) => [user.id, user.username] as const)
  const filtered = Object.keys(view.filters).some((name) => name !== "limit")

  return (
    <section aria-labelledby="logs-title">
      <h1 id="logs-title">Request log</h1>
      <form class="card" onSubmit={apply} aria-labelledby="log-filters-title">
        <h2 id="log-filters-title">Filters</h2>
        <div class="grid log-filters">
          <Field label="From" type="datetime-local" value={draft.from ?? ""} onValue={set("from")} />
          <Field label="To" type="datetime-local" value={draft.to ?? ""} onValue={set("to")} />
          {me.is_superuser ? (
            <Select
              label="User"
              value={draft.user_id ?? ""}
              onValue={set("user_id")}
              options={optionsOf("Anyone", userOptions, draft.user_id)}
            />
          ) : null}
          <Select
            label="API key"
            value={draft.api_key_id ?? ""}
            onValue={set("api_key_id")}
            options={optionsOf("Any key", keyOptions, draft.api_key_id)}
          />
          {TEXT_FILTERS.map(({ name, label, maxLength, pattern, hint }) => (
            <Field
              key={name}
              label={label}
              value={draft[name] ?? ""}
              onValue={set(name)}
              maxLength={maxLength}
              pattern={pattern}
              spellcheck={false}
              hint={hint}
            />
          ))}
          <Select
            label="Rows per page"
            value={draft.limit ?? DEFAULT_PAGE_SIZE}
            onValue={set("limit")}
            options={[
              ...PAGE_SIZES.map((size) => [size, size] as const),
              ...(draft.limit === undefined || (PAGE_SIZES as ReadonlyArray<string>).includes(draft.limit)
                ? []
                : [[draft.limit, draft.limit] as const]),
            ]}
          />
        </div>
        <div class="row">
          <button type="submit">Apply filters</button>
          <button type="button" class="secondary" onClick={clear}>
            Clear filters
          </button>
          <button type="button" class="secondary" onClick={() => setReloads((n) => n + 1)}>
            Refresh
          </button>
        </div>
      </form>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      {page === undefined ? (
        error === undefined ? (
          <p aria-busy="true">Loading…</p>
        ) : null
      ) : page.rows.length === 0 ? (
        <p role="status">
          {filtered || view.cursor !== undefined ? "No request matches these filters." : "No request logged yet."}
        </p>
      ) : (
        <div class="table-wrap">
          <table class="stack log-table">
            <caption class="visually-hidden">Requests, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Caller key</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Model</th>
                <th scope="col">Provider</th>
                <th scope="col">Status</th>
                <th scope="col">Outcome</th>
                <th scope="col">Latency</th>
                <th scope="col">First token</th>
                <th scope="col">Tokens</th>
                <th scope="col">Cost</th>
                <th scope="col">
                  <span class="visually-hidden">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.rows.map((row) => {
                const expanded = open.has(row.id)
                return (
                  <Fragment key={row.id}>
                    <tr class={expanded ? "expanded" : undefined}>
                      <th scope="row">
                        <time dateTime={row.started_at}>{timeText(row.started_at)}</time>
                      </th>
                      <td data-label="Caller key">{callerText(row, callers)}</td>
                      <td data-label="Endpoint">
                        {row.dialect} <code>{row.endpoint}</code>
                      </td>
                      <td data-label="Model">{modelText(row)}</td>
                      <td data-label="Provider">{row.provider ?? NONE}</td>
                      <StatusCell row={row} />
                      <td data-label="Latency" class="num">
                        {durationText(row.latency_ms)}
                      </td>
                      <td data-label="First token" class="num">
                        {durationText(row.ttft_ms)}
                      </td>
                      <td data-label="Tokens" class="num">
                        {tokensText(row.input_tokens, row.output_tokens)}
                      </td>
                      <td data-label="Cost" class="num">
                        {costText(row.cost_usd)}
                      </td>
                      <td>
                        <button
                          type="button"
                          class="secondary"
                          aria-expanded={expanded}
                          aria-controls={expanded ? `log-row-${row.id}` : undefined}
                          aria-label={`Details of the request ${row.request_id}`}
                          onClick={() => toggle(row.id)}
                        >
                          Details
                        </button>
                      </td>
                    </tr>
                    {expanded ? (
                      <tr class="detail" id={`log-row-${row.id}`}>
                        <td colSpan={COLUMNS}>
                          <RequestDetail row={row} callers={callers} />
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
      {page === undefined && view.cursor === undefined ? null : (
        <nav class="row pager" aria-label="Pages">
          <button type="button" class="secondary" disabled={view.cursor === undefined} onClick={newer}>
            Newer
          </button>
          <button
            type="button"
            class="secondary"
            disabled={page?.next_cursor == null}
            onClick={() => page?.next_cursor != null && older(page.next_cursor)}
          >
            Older
          </button>
          <span class="hint" role="status">
            {page === undefined ? "" : pageText(page, view, trail)}
          </span>
        </nav>
      )}
    </section>
  )
}
