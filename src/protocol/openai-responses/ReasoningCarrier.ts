/**
 * Reasoning signed by another provider family, carried through a Responses client. A client
 * that works statelessly (Codex with `store: false`) sends every reasoning item back in the next
 * turn's input, `encrypted_content` included, as opaque bytes. Anthropic requires a tool-use
 * turn's thinking blocks back with their signatures (with thinking on, a final assistant turn
 * without them is refused), so a foreign signature travels as the item's `encrypted_content`,
 * marked with its origin: `apiproxy:anthropic:<signature>`, `apiproxy:anthropic-redacted:<data>`
 * for redacted thinking. OpenAI's own encrypted content is passed as it is. A forged value gains
 * nothing: the provider checks its own signatures.
 */

import type { ReasoningBlock, Signature, SignatureOrigin } from "../Canonical.js"
import { compact, type JsonObject } from "../Json.js"

const PREFIX = "apiproxy:"
const FOREIGN: ReadonlySet<string> = new Set<SignatureOrigin>(["anthropic", "gemini"])

/** The `encrypted_content` of a reasoning item for `signature`, or undefined when there is none to carry. */
export const encryptedContentOf = (signature: Signature | undefined, redacted: boolean): string | undefined => {
  if (signature === undefined || signature.value === "") return undefined
  if (signature.origin === "openai") return redacted ? undefined : signature.value
  return `${PREFIX}${signature.origin}${redacted ? "-redacted" : ""}:${signature.value}`
}

/** A reasoning item's text and `encrypted_content` as a canonical block, its signature's origin restored. */
export const reasoningBlockOf = (text: string, encrypted: string | undefined): ReasoningBlock => {
  if (encrypted === undefined || encrypted === "") return { type: "reasoning", text }
  if (encrypted.startsWith(PREFIX)) {
    const colon = encrypted.indexOf(":", PREFIX.length)
    const tag = colon < 0 ? "" : encrypted.slice(PREFIX.length, colon)
    const redacted = tag.endsWith("-redacted")
    const origin = redacted ? tag.slice(0, -"-redacted".length) : tag
    if (FOREIGN.has(origin)) {
      const signature = { origin: origin as SignatureOrigin, value: encrypted.slice(colon + 1) }
      return compact({
        type: "reasoning" as const,
        text: redacted ? "" : text,
        signature,
        redacted: redacted ? true : undefined,
      })
    }
  }
  return { type: "reasoning", text, signature: { origin: "openai", value: encrypted } }
}

/** The reasoning block of a Responses `reasoning` item (input or output): its summary and content texts. */
export const decodeReasoningItem = (item: JsonObject, texts: ReadonlyArray<string>): ReasoningBlock =>
  reasoningBlockOf(texts.join("\n"), typeof item.encrypted_content === "string" ? item.encrypted_content : undefined)
