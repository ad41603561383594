/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate`
 * a client sends, checked before the gateway trusts them, and the `traceparent` it sends on.
 * A header that is not exactly well-formed is ignored, never repaired: the request then starts
 * a trace of its own.
 */

export interface TraceContext {
  /** 32 lower-case hex digits, not all zero. */
  readonly traceId: string
  /** 16 lower-case hex digits, not all zero: the caller's span. */
  readonly spanId: string
  /** The trace flags byte; bit 0 is `sampled`. */
  readonly traceFlags: number
  /** The caller's `tracestate`, when it was well-formed (members joined by `,`). */
  readonly traceState: string | undefined
}

/** Longer `traceparent` values are not read (a future version may add fields, but not kilobytes). */
const TRACEPARENT_MAX = 256
/** A `tracestate` longer than this is dropped: the spec asks to propagate at least 512 characters. */
const TRACESTATE_MAX = 512
const TRACESTATE_MEMBERS_MAX = 32

/**
 * `version-traceid-parentid-flags`. Version `00` is exactly that; a later version may append
 * `-` and fields this gateway does not know (read as `00`, as the spec says). `ff` is invalid.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x21-\x7e]*)?$/
const ZERO_TRACE_ID = "0".repeat(32)
const ZERO_SPAN_ID = "0".repeat(16)

/** `key=value`: a simple key, or `tenant@system`; the value printable ASCII without `,` and `=`, not ending in a space. */
const TRACESTATE_MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/

const parseTraceParent = (value: unknown): Omit<TraceContext, "traceState"> | undefined => {
  if (typeof value !== "string" || value.length > TRACEPARENT_MAX) return undefined
  const match = TRACEPARENT.exec(value)
  if (match === null) return undefined
  const [, version, traceId, spanId, flags, rest] = match
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined
  return { traceId: traceId!, spanId: spanId!, traceFlags: parseInt(flags!, 16) }
}

/**
 * The list members of a `tracestate` (several headers arrive joined by `, `), or `undefined`
 * when any member is malformed, a key repeats, or the list is too long: then none of it is kept.
 */
export const parseTraceState = (value: unknown): string | undefined => {
  if (typeof value !== "string" || value.length > TRACESTATE_MAX * 2) return undefined
  const members: Array<string> = []
  const keys = new Set<string>()
  for (const raw of value.split(",")) {
    const member = raw.trim()
    if (member === "") continue
    if (!TRACESTATE_MEMBER.test(member)) return undefined
    const key = member.slice(0, member.indexOf("="))
    if (keys.has(key)) return undefined
    keys.add(key)
    members.push(member)
  }
  const joined = members.join(",")
  return members.length === 0 || members.length > TRACESTATE_MEMBERS_MAX || joined.length > TRACESTATE_MAX
    ? undefined
    : joined
}

/**
 * The trace a client's request continues: its `traceparent` when well-formed, with its
 * `tracestate` when that is well-formed too (a bad `tracestate` alone does not lose the parent).
 */
export const parseTraceContext = (traceparent: unknown, tracestate: unknown): TraceContext | undefined => {
  const parent = parseTraceParent(traceparent)
  return parent === undefined ? undefined : { ...parent, traceState: parseTraceState(tracestate) }
}

/** The `traceparent` (version 00) that names `spanId` of `traceId` as the parent of the next hop. */
export const formatTraceParent = (traceId: string, spanId: string, traceFlags: number): string =>
  `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, "0")}`
