/** What an upstream said went wrong, read from any of the three dialects' error bodies. */
export interface UpstreamErrorInfo {
  readonly message: string
  readonly type?: string
  readonly code?: string
  /** OpenAI's `error.param`: the request field at fault. */
  readonly param?: string
}

const MAX_MESSAGE = 1000

const asString = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined

export const parseUpstreamError = (body: string, status: number): UpstreamErrorInfo => {
  const fallback = { message: body.trim() === "" ? `upstream returned HTTP ${status}` : body.slice(0, MAX_MESSAGE) }
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return fallback
  }
  const root = Array.isArray(json) ? json[0] : json
  const error = (root as { error?: unknown } | null)?.error
  if (error && typeof error === "object") {
    const e = error as Record<string, unknown>
    const message = asString(e.message)
    // OpenAI {error:{message,type,code}}, Anthropic {type:"error",error:{type,message}}, Gemini {error:{code,message,status}}
    const type = asString(e.type) ?? asString(e.status)
    const code = typeof e.code === "string" ? e.code : undefined
    const param = typeof e.param === "string" ? e.param : undefined
    if (message !== undefined) {
      return {
        message: message.slice(0, MAX_MESSAGE),
        ...(type ? { type } : {}),
        ...(code ? { code } : {}),
        ...(param ? { param } : {}),
      }
    }
  }
  if (typeof error === "string") return { message: error.slice(0, MAX_MESSAGE) }
  const message =
    asString((root as { message?: unknown } | null)?.message) ?? asString((root as { detail?: unknown } | null)?.detail)
  return message !== undefined ? { message: message.slice(0, MAX_MESSAGE) } : fallback
}
