import { Either } from "effect"
import type { JsonObject } from "../protocol/Json.js"
import { passThroughUsage } from "../protocol/passthrough/PassThroughUsage.js"
import { type OpenAiEndpoint, openAiUrl } from "../upstream/ProviderEndpoints.js"
import type { UpstreamUpload } from "../upstream/UpstreamClient.js"
import { answerObjectOf, type Exchange, type Operation } from "./Exchange.js"

/** The body of a pass-through request: JSON (its model replaced per candidate), or an upload made for a candidate's model. */
export type PassThroughBody = JsonObject | ((upstreamModel: string) => UpstreamUpload)

/** A JSON answer forwarded byte for byte, with the usage it reports. */
const relayedJson: Exchange["translateJson"] = (text) => {
  const json = answerObjectOf(text)
  if (typeof json === "string") return Either.left(json)
  return Either.right({ body: text, usage: passThroughUsage(json) ?? {} })
}

/** `gen_ai.operation.name` of each endpoint: the conventions' names where they have one, else the endpoint's. */
const OPERATION_NAMES: { readonly [E in OpenAiEndpoint]: string } = {
  embeddings: "embeddings",
  completions: "text_completion",
  moderations: "moderation",
  "images/generations": "image_generation",
  "audio/speech": "speech",
  "audio/transcriptions": "transcription",
  "audio/translations": "translation",
}

/**
 * One of OpenAI's endpoints beside chat (completions, moderations, images, audio), passed through
 * to OpenAI-protocol providers only — the others have no such endpoint and are no candidates —
 * with only the model replaced. `relay`: the answer is relayed as it arrives (a stream, audio, a
 * transcript) rather than read whole as JSON.
 */
export const passThroughOperation = (
  endpoint: OpenAiEndpoint,
  body: PassThroughBody,
  relay: Exchange["relay"],
): Operation => ({
  name: OPERATION_NAMES[endpoint],
  need: () => ({ endpoint: `/v1/${endpoint}`, serves: (candidate) => candidate.provider.protocol === "openai" }),
  plan: (provider, model) => {
    if (provider.protocol !== "openai") {
      return Either.left({ _tag: "Unsupported", message: `provider '${provider.id}' has no /v1/${endpoint} endpoint` })
    }
    return Either.right({
      upstreamDialect: undefined,
      url: openAiUrl(provider, endpoint),
      body: typeof body === "function" ? body(model) : JSON.stringify({ ...body, model }),
      headers: undefined,
      translateJson: relayedJson,
      ...(relay !== undefined ? { relay } : {}),
    })
  },
})
