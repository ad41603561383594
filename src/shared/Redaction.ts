/**
 * Redaction of credentials in text that leaves the process (log lines, error messages relayed
 * from a provider). It lives in `shared/` because both the logger (`http/`) and the upstream
 * client (`upstream/`, which scrubs provider error bodies) need it, and neither may import the
 * other (docs/ARCHITECTURE.md, "Layering").
 */

/** Header names whose values never reach a log line. */
export const SECRET_HEADERS = new Set([
  "authorization",
  "x-api-key",
  "x-goog-api-key",
  "cookie",
  "proxy-authorization",
  "x-auth-token",
])

/** Header map safe to log: credentials replaced by `[redacted]`. */
export const redactHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers))
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? "[redacted]" : value
  return out
}

/** Cheap pre-check: text none of the patterns below can match is returned as it is. */
const MAYBE_SECRET = /bearer|apx|sk|AIza|key=/i

/** Redacts anything that looks like a bearer token or an API key inside free text. */
export const redactText = (text: string): string =>
  !MAYBE_SECRET.test(text)
    ? text
    : text
        .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, "$1[redacted]")
        .replace(/\b(apx|sk|sk-ant|AIza)[-_A-Za-z0-9]{12,}/g, "[redacted]")
        .replace(/([?&]key=)[^&\s]+/g, "$1[redacted]")

/** JSON member names that say their value is a credential (`api_key`, `client_secret`, `password`, `access_token`, …). */
const SECRET_MEMBER_NAME =
  /api[_-]?key|secret|passw(?:or)?d|authorization|(?:access|refresh|id|auth|session|bearer)[_-]?token|private[_-]?key|credential/i

/**
 * A JSON string member: its name (bounded, so a long string that is no name fails fast) and its
 * value. The value's alternatives start with different characters: no backtracking.
 */
const STRING_MEMBER = /"([A-Za-z0-9_.-]{1,64})"(\s*:\s*)"(?:[^"\\]|\\.)*"/g

/**
 * A request or response body kept in the request log: what `redactText` redacts, and the string
 * value of every JSON member whose name says it holds a credential (in the body itself or in the
 * JSON of a stream's events).
 */
export const redactBody = (text: string): string =>
  redactText(
    SECRET_MEMBER_NAME.test(text)
      ? text.replace(STRING_MEMBER, (member, name: string, colon: string) =>
          SECRET_MEMBER_NAME.test(name) ? `"${name}"${colon}"[redacted]"` : member,
        )
      : text,
  )
