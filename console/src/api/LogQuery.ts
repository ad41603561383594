/**
 * The request log page's state as a query string: the filters of `GET /logs` and the page's
 * cursor, under the API's own names, so `/ui/logs?status=5xx&model=gpt-4o` is both a link that
 * survives a reload (and the back button) and the query the page sends. Times are ISO instants
 * there; the form shows them in the browser's time zone (`datetime-local`).
 */

export const LOG_FILTERS = [
  "from",
  "to",
  "user_id",
  "api_key_id",
  "model",
  "provider",
  "status",
  "error_class",
  "limit",
] as const
export type LogFilter = (typeof LOG_FILTERS)[number]
export type LogFilters = Partial<Record<LogFilter, string>>

export interface LogView {
  readonly filters: LogFilters
  /** next_cursor of the page before (older pages only). */
  readonly cursor?: string
}

export const PAGE_SIZES = ["10", "25", "50", "100", "200"] as const
/** Rows per page when the query names none (the API's own default is larger than a screen). */
export const DEFAULT_PAGE_SIZE = "50"

const clean = (value: string | null | undefined): string | undefined => {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === "" ? undefined : trimmed
}

/** The view a query string names: known parameters only, blanks dropped (the API checks the values). */
export const viewOf = (search: string): LogView => {
  const params = new URLSearchParams(search)
  const filters: LogFilters = {}
  for (const name of LOG_FILTERS) {
    const value = clean(params.get(name))
    if (value !== undefined) filters[name] = value
  }
  const cursor = clean(params.get("cursor"))
  return cursor === undefined ? { filters } : { filters, cursor }
}

/** The query string of a view (`""` for the unfiltered first page), its parameters in a fixed order. */
export const searchOf = (view: LogView): string => {
  const params = new URLSearchParams()
  for (const name of LOG_FILTERS) {
    const value = clean(view.filters[name])
    if (value !== undefined) params.set(name, value)
  }
  const cursor = clean(view.cursor)
  if (cursor !== undefined) params.set("cursor", cursor)
  const text = params.toString()
  return text === "" ? "" : `?${text}`
}

/** The `GET /logs` call for a view: the console's page size when the view names none. */
export const logsPathOf = (view: LogView): string =>
  `/logs${searchOf({ ...view, filters: { ...view.filters, limit: view.filters.limit ?? DEFAULT_PAGE_SIZE } })}`

const pad = (n: number): string => String(n).padStart(2, "0")

/** An ISO instant as a `datetime-local` value in the browser's zone (`""` when it is not a time). */
export const localInputOf = (iso: string | undefined): string => {
  if (iso === undefined) return ""
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return ""
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`
}

/** A `datetime-local` value (the browser's zone) as an ISO instant; `undefined` when blank or not a time. */
export const isoOfLocal = (local: string): string | undefined => {
  if (clean(local) === undefined) return undefined
  const date = new Date(local)
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}
