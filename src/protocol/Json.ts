/** Narrowing helpers for untrusted JSON. */
export type JsonObject = Record<string, unknown>

export const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)
export const asObject = (u: unknown): JsonObject => (isObject(u) ? u : {})
export const asArray = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])
export const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)
export const num = (u: unknown): number | undefined => (typeof u === "number" && Number.isFinite(u) ? u : undefined)
export const bool = (u: unknown): boolean | undefined => (typeof u === "boolean" ? u : undefined)

/** Parse JSON text without throwing. */
export const parseJson = (text: string): { ok: true; value: unknown } | { ok: false; error: string } => {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) }
  }
}

/** Tool arguments arrive as JSON text; a non-JSON string is kept as-is rather than lost. */
export const parseArguments = (text: string | undefined): unknown => {
  if (text === undefined || text.trim() === "") return {}
  const r = parseJson(text)
  return r.ok ? r.value : text
}

export const stringifyArguments = (input: unknown): string => (typeof input === "string" ? input : JSON.stringify(input ?? {}))

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
