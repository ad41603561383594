import { useEffect, useMemo, useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { User } from "../api/Types.js"
import type { UsageResponse } from "../api/UsageTypes.js"
import { messageOf, Notice, Select } from "../Controls.js"
import { BudgetList } from "../usage/BudgetList.js"
import { type Directory, keyLabeller, loadDirectory } from "../usage/Directory.js"
import { UsageChart } from "../usage/UsageChart.js"
import {
  allUnpriced,
  BREAKDOWN_LABELS,
  BREAKDOWNS,
  type Breakdown,
  bucketLines,
  type Counts,
  shapeUsage,
} from "../usage/UsageSeries.js"
import { bucketLabel, RANGE_LABELS, RANGES, type Range, usagePath, windowOf } from "../usage/UsageWindow.js"
import { formatUsd } from "../usage/Usd.js"

const count = (value: number): string => Math.round(value).toLocaleString("en-US")
const usdTick = (value: number): string => `$${value.toLocaleString("en-US", { maximumSignificantDigits: 4 })}`
const costText = (counts: Counts): string => (allUnpriced(counts) ? "no price" : formatUsd(counts.costNano))

/** The three charts: what each draws, and how its values read. */
const CHARTS = [
  { figure: "requests", title: "Requests", what: "Requests", format: count, whole: true },
  { figure: "tokens", title: "Tokens (input + output)", what: "Input plus output tokens", format: count, whole: true },
  { figure: "cost", title: "Cost (USD)", what: "Cost in USD", format: usdTick, whole: false },
] as const

const RANGE_OPTIONS = RANGES.map((range) => [range, RANGE_LABELS[range]] as const)
const BREAKDOWN_OPTIONS = BREAKDOWNS.map((breakdown) => [breakdown, BREAKDOWN_LABELS[breakdown]] as const)

/** A row's figures, labelled for the phone layout (table.stack). */
const Figures = ({ counts }: { readonly counts: Counts }) => (
  <>
    <td data-label="Requests" class="num">
      {count(counts.requests)}
    </td>
    <td data-label="Input tokens" class="num">
      {count(counts.inputTokens)}
    </td>
    <td data-label="Output tokens" class="num">
      {count(counts.outputTokens)}
    </td>
    <td data-label="Cost" class="num">
      {costText(counts)}
    </td>
    <td data-label="Unpriced requests" class="num">
      {count(counts.unpriced)}
    </td>
  </>
)

const FigureHeads = () => (
  <>
    <th scope="col">Requests</th>
    <th scope="col">Input tokens</th>
    <th scope="col">Output tokens</th>
    <th scope="col">Cost (USD)</th>
    <th scope="col">Unpriced requests</th>
  </>
)

/**
 * Usage and spend (issue 17 item 5): requests, tokens and cost over the last 24 hours (by hour)
 * or 7 / 30 days (by day), by API key, model or provider — three uPlot charts and the same figures
 * in tables — and each budget's use. A user sees their own keys; a superuser everyone's.
 */
export const Usage = ({ session, me }: { readonly session: Session; readonly me: User }) => {
  const [range, setRange] = useState<Range>("24h")
  const [breakdown, setBreakdown] = useState<Breakdown>("key")
  const [usage, setUsage] = useState<{ window: ReturnType<typeof windowOf>; answer: UsageResponse } | undefined>()
  const [directory, setDirectory] = useState<Directory | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const [reloads, setReloads] = useState(0)

  useEffect(() => {
    let current = true
    const window = windowOf(range, new Date())
    setBusy(true)
    setError(undefined)
    Promise.all([session.request<UsageResponse>("GET", usagePath(window)), loadDirectory(session, me)])
      .then(
        ([answer, loaded]) => {
          if (!current) return
          setUsage({ window, answer })
          setDirectory(loaded)
        },
        (failure) => current && setError(messageOf(failure)),
      )
      .finally(() => current && setBusy(false))
    return () => {
      current = false
    }
  }, [session, me, range, reloads])

  const view = useMemo(() => {
    if (usage === undefined || directory === undefined) return undefined
    const labelOf = breakdown === "key" ? keyLabeller(directory, me) : (id: string) => id
    return shapeUsage(usage.answer.rows, usage.window, breakdown, labelOf)
  }, [usage, directory, breakdown, me])
  const labels = useMemo(() => view?.groups.map((group) => group.label) ?? [], [view])
  const what = breakdown === "key" ? "API key" : BREAKDOWN_LABELS[breakdown].toLowerCase()
  const per = usage?.window.groupBy ?? "hour"

  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <form class="card usage-controls" onSubmit={(event) => event.preventDefault()} aria-label="What to show">
        <Select label="Range" value={range} onValue={(value) => setRange(value as Range)} options={RANGE_OPTIONS} />
        <Select
          label="Break down by"
          value={breakdown}
          onValue={(value) => setBreakdown(value as Breakdown)}
          options={BREAKDOWN_OPTIONS}
        />
        <button type="button" class="secondary" disabled={busy} onClick={() => setReloads((n) => n + 1)}>
          Refresh
        </button>
      </form>
      {error === undefined ? null : <Notice kind="error">{error}</Notice>}
      {view === undefined || usage === undefined || directory === undefined ? (
        error === undefined ? (
          <p aria-busy="true">Loading…</p>
        ) : null
      ) : (
        <>
          <p class="hint" role="status">
            {busy
              ? "Loading…"
              : `${RANGE_LABELS[usage.window.range]}, times in UTC: ${count(view.totals.requests)} requests, ${costText(view.totals)}.`}
          </p>
          {view.groups.length === 0 ? (
            <p>No requests in this range.</p>
          ) : (
            <div class="charts">
              {CHARTS.map((chart) => (
                <UsageChart
                  key={chart.figure}
                  title={chart.title}
                  description={`${chart.what} per ${per} by ${what}; the exact figures are in the tables below.`}
                  data={view.charts[chart.figure]}
                  labels={labels}
                  format={chart.format}
                  groupBy={per}
                  whole={chart.whole}
                />
              ))}
            </div>
          )}
          <h2 id="usage-totals-title">Totals by {what}</h2>
          <div class="table-wrap">
            <table class="stack" aria-labelledby="usage-totals-title">
              <thead>
                <tr>
                  <th scope="col">{BREAKDOWN_LABELS[breakdown]}</th>
                  <FigureHeads />
                </tr>
              </thead>
              <tbody>
                {view.groups.map((group) => (
                  <tr key={group.id}>
                    <th scope="row">{group.label}</th>
                    <Figures counts={group.totals} />
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">Total</th>
                  <Figures counts={view.totals} />
                </tr>
              </tfoot>
            </table>
          </div>
          {view.groups.length === 0 ? null : (
            <details class="per-bucket">
              <summary>Figures per {per}</summary>
              <div class="table-wrap">
                <table class="stack">
                  <caption class="visually-hidden">
                    Figures per {per} by {what} (UTC)
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">{per === "hour" ? "Hour (UTC)" : "Day (UTC)"}</th>
                      <th scope="col">{BREAKDOWN_LABELS[breakdown]}</th>
                      <FigureHeads />
                    </tr>
                  </thead>
                  <tbody>
                    {bucketLines(view, usage.window).map((line) => (
                      <tr key={`${line.bucket}:${line.group.id}`}>
                        <th scope="row">{bucketLabel(usage.window.groupBy, line.bucket)}</th>
                        <td data-label={BREAKDOWN_LABELS[breakdown]}>{line.group.label}</td>
                        <Figures counts={line.counts} />
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </details>
          )}
          <h2>Budgets</h2>
          <BudgetList directory={directory} me={me} />
        </>
      )}
    </section>
  )
}
