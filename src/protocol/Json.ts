/** Narrowing helpers for untrusted JSON. */
export type JsonObject = Record<string, unknown>

export const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)
export const asObject = (u: unknown): JsonObject => (isObject(u) ? u : {})
export const asArray = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])
export const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)
export const num = (u: unknown): number | undefined => (typeof u === "number" && Number.isFinite(u) ? u : undefined)
export const bool = (u: unknown): boolean | undefined => (typeof u === "boolean" ? u : undefined)

/**
 * How deeply JSON may nest (objects and arrays), in a request body or in any JSON text a codec
 * parses (tool arguments, frames). Deeper input would overflow the stack of the recursive code
 * that walks it (`JSON.stringify`, the codecs): 100 000 levels gave a 500. Real JSON (schemas in
 * tool definitions included) stays far below.
 */
export const MAX_JSON_DEPTH = 128

/**
 * Whether the JSON text nests objects and arrays deeper than `limit`: one pass over the text,
 * brackets inside strings ignored, no recursion. Meant for text `JSON.parse` has accepted.
 */
export const jsonNestsDeeperThan = (text: string, limit: number): boolean => {
  // Valid JSON nesting deeper than `limit` needs more than `limit` bracket pairs: short text
  // (most stream frames) is never scanned.
  if (text.length < 2 * (limit + 1)) return false
  let depth = 0
  const length = text.length
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      // Jump to the closing quote: the next `"` not escaped by an odd run of backslashes.
      let end = i
      for (;;) {
        end = text.indexOf('"', end + 1)
        if (end < 0) return false
        let backslashes = 0
        while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++
        if ((backslashes & 1) === 0) break
      }
      i = end
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true
    } else if (c === 0x7d || c === 0x5d) {
      depth--
    }
  }
  return false
}

/** Parse JSON text without throwing; text nested deeper than `MAX_JSON_DEPTH` is refused too. */
export const parseJson = (text: string): { ok: true; value: unknown } | { ok: false; error: string } => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) }
  }
  if (typeof value === "object" && value !== null && jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
    return { ok: false, error: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` }
  }
  return { ok: true, value }
}

/** Tool arguments arrive as JSON text; a non-JSON string is kept as-is rather than lost. */
export const parseArguments = (text: string | undefined): unknown => {
  if (text === undefined || text.trim() === "") return {}
  const r = parseJson(text)
  return r.ok ? r.value : text
}

export const stringifyArguments = (input: unknown): string =>
  typeof input === "string" ? input : JSON.stringify(input ?? {})

/** The string-valued fields of an object (request `metadata`); undefined for a non-object. */
export const stringRecord = (u: unknown): Record<string, string> | undefined =>
  isObject(u)
    ? (Object.fromEntries(Object.entries(u).filter(([, v]) => typeof v === "string")) as Record<string, string>)
    : undefined

/** Drop keys whose value is undefined (keeps wire objects tidy). */
export const compact = <T extends JsonObject>(o: T): T => {
  const out: JsonObject = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v
  return out as T
}

/** The fields of `o` not listed in `known`. */
export const unknownFields = (o: JsonObject, known: ReadonlySet<string>): JsonObject => {
  const out: JsonObject = {}
  for (const [k, v] of Object.entries(o)) if (!known.has(k)) out[k] = v
  return out
}

export const dataUrl = (mediaType: string, data: string) => `data:${mediaType};base64,${data}`

export const parseDataUrl = (url: string): { mediaType: string; data: string } | undefined => {
  const m = /^data:([^;,]+)?(?:;[^,]*)?;base64,(.*)$/s.exec(url)
  return m ? { mediaType: m[1] ?? "application/octet-stream", data: m[2]! } : undefined
}
