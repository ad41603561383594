import type { IncomingHttpHeaders } from "node:http"
import { Either } from "effect"
import { InvalidRequest } from "../gateway/GatewayError.js"
import type { Dialect } from "../protocol/Canonical.js"

/**
 * The provider feature headers a client may send through the gateway, per client dialect. They
 * select documented API features (Anthropic betas and API version, OpenAI betas) and reach an
 * upstream only when it speaks the client's own dialect (gateway/Exchange). Nothing else the
 * client sends becomes an upstream header: account or organisation selectors
 * (`openai-organization`, `openai-project`, `chatgpt-account-id`), SDK telemetry
 * (`x-stainless-*`) and client identity (`user-agent`, `originator`) belong to the provider key.
 *
 *   anthropic-beta     comma-separated beta names (Claude Code: interleaved thinking, context management, …)
 *   anthropic-version  the Messages API version the client's SDK speaks (else the gateway's 2023-06-01)
 *   openai-beta        e.g. `responses=experimental` (Codex CLI), `assistants=v2`
 */
const FORWARDED: { readonly [D in Dialect]: ReadonlyArray<string> } = {
  anthropic: ["anthropic-beta", "anthropic-version"],
  "openai-chat": ["openai-beta"],
  "openai-responses": ["openai-beta"],
  gemini: [],
}

/** The longest feature header value forwarded (Claude Code's list of betas is a few hundred characters). */
export const FEATURE_HEADER_MAX = 1024

/**
 * A comma-separated list of items, each an RFC 9110 token or `token=token`: letters, digits and
 * ``! # $ % & ' * + - . ^ _ ` | ~``, optional spaces or tabs around the commas. No control
 * character, quote, semicolon or anything outside ASCII can reach an upstream header.
 */
const FEATURE_VALUE =
  /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:=[A-Za-z0-9!#$%&'*+.^_`|~-]+)?(?:[ \t]*,[ \t]*[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:=[A-Za-z0-9!#$%&'*+.^_`|~-]+)?)*$/

const invalid = (name: string, problem: string) =>
  new InvalidRequest({ message: `Invalid ${name} header: ${problem}`, param: name, code: "invalid_header" })

/** Why `value` may not be forwarded as header `name`, or undefined when it may. */
const featureValueProblem = (name: string, value: string): InvalidRequest | undefined => {
  if (value.length > FEATURE_HEADER_MAX) return invalid(name, `longer than ${FEATURE_HEADER_MAX} characters`)
  if (!FEATURE_VALUE.test(value))
    return invalid(
      name,
      "a comma-separated list of tokens (letters, digits and !#$%&'*+-.^_`|~, or name=value) is expected",
    )
  return undefined
}

/**
 * The feature headers of a request to forward (lower-case names, values trimmed), or the 400
 * for one whose value is not a plain token list. Absent and empty headers are not forwarded.
 * `undefined` when there is none: the common case allocates nothing.
 */
export const featureHeadersOf = (
  headers: IncomingHttpHeaders,
  dialect: Dialect,
): Either.Either<Readonly<Record<string, string>> | undefined, InvalidRequest> => {
  let out: Record<string, string> | undefined
  for (const name of FORWARDED[dialect]) {
    const raw = headers[name]
    // Repeated lines of these headers are joined by Node with ", ", which keeps a valid list.
    const value = (Array.isArray(raw) ? raw.join(", ") : raw)?.trim()
    if (value === undefined || value === "") continue
    const problem = featureValueProblem(name, value)
    if (problem !== undefined) return Either.left(problem)
    ;(out ??= {})[name] = value
  }
  return Either.right(out)
}
