/**
 * Redaction of credentials in text that leaves the process (log lines, error messages relayed
 * from a provider). It lives in `shared/` because both the logger (`http/`) and the upstream
 * client (`upstream/`, which scrubs provider error bodies) need it, and neither may import the
 * other (docs/ARCHITECTURE.md, "Layering").
 */

/** Header names whose values never reach a log line. */
export const SECRET_HEADERS = new Set(["authorization", "x-api-key", "x-goog-api-key", "cookie", "proxy-authorization", "x-auth-token"])

/** Header map safe to log: credentials replaced by `[redacted]`. */
export const redactHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? "[redacted]" : value
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
