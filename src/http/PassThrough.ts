import { Either } from "effect"
import type { Operation } from "../gateway/Exchange.js"
import { InvalidRequest } from "../gateway/GatewayError.js"
import { passThroughOperation } from "../gateway/PassThroughOperation.js"
import type { OpenAiEndpoint } from "../upstream/ProviderEndpoints.js"
import type { UpstreamUpload } from "../upstream/UpstreamClient.js"

/**
 * OpenAI's endpoints beside chat that the gateway passes through to OpenAI-protocol providers
 * (JSON bodies; `/v1/audio/transcriptions` and `/v1/audio/translations` are multipart uploads,
 * MultipartUpload). The edge checks what routing needs and the fields every request must have (a
 * 400 naming the one missing); the provider checks the rest.
 */
interface PassThroughRoute {
  readonly endpoint: OpenAiEndpoint
  readonly required: ReadonlyArray<string>
  /** The model when the body names none (OpenAI's own default). */
  readonly defaultModel?: string
  /** Whether the answer is relayed as it arrives: an event stream asked for, or audio bytes. */
  readonly relay: (body: Record<string, unknown>) => "sse" | "bytes" | undefined
}

const streamed = (body: Record<string, unknown>) => (body.stream === true ? "sse" : undefined)

const ROUTES: ReadonlyMap<string, PassThroughRoute> = new Map<string, PassThroughRoute>([
  ["/v1/completions", { endpoint: "completions", required: ["prompt"], relay: streamed }],
  [
    "/v1/moderations",
    { endpoint: "moderations", required: ["input"], defaultModel: "omni-moderation-latest", relay: () => undefined },
  ],
  ["/v1/images/generations", { endpoint: "images/generations", required: ["prompt"], relay: streamed }],
  [
    "/v1/audio/speech",
    {
      endpoint: "audio/speech",
      required: ["input", "voice"],
      relay: (body) => (body.stream_format === "sse" ? "sse" : "bytes"),
    },
  ],
])

/** Whether `path` is a JSON pass-through endpoint. */
export const isPassThroughPath = (path: string): boolean => ROUTES.has(path)

/** The model a pass-through body routes by when it names none (moderations), if any. */
export const passThroughDefaultModel = (path: string): string | undefined => ROUTES.get(path)?.defaultModel

/** The walk's operation for a pass-through request, or the 400 naming the field at fault. */
export const passThroughOperationOf = (
  path: string,
  body: Record<string, unknown>,
): Either.Either<Operation, InvalidRequest> => {
  const route = ROUTES.get(path)!
  const missing = route.required.find((field) => body[field] === undefined || body[field] === null)
  if (missing !== undefined)
    return Either.left(new InvalidRequest({ message: `you must provide a '${missing}' parameter`, param: missing }))
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    return Either.left(new InvalidRequest({ message: "'stream' must be a boolean", param: "stream" }))
  }
  return Either.right(passThroughOperation(route.endpoint, body, route.relay(body)))
}

/** The multipart upload endpoints (MultipartUpload): the body is read by the upload edge, not as JSON. */
const UPLOADS: ReadonlyMap<string, OpenAiEndpoint> = new Map<string, OpenAiEndpoint>([
  ["/v1/audio/transcriptions", "audio/transcriptions"],
  ["/v1/audio/translations", "audio/translations"],
])

/** Whether `path` is a multipart upload endpoint. */
export const isUploadPath = (path: string): boolean => UPLOADS.has(path)

/**
 * The walk's operation for an upload: its body made per candidate (its model in place), the
 * answer relayed as it comes — a transcript in any `response_format` (JSON, text, SRT, VTT) or,
 * with `stream=true`, an event stream.
 */
export const uploadOperationOf = (
  path: string,
  bodyFor: (upstreamModel: string) => UpstreamUpload,
  stream: string | undefined,
): Operation => passThroughOperation(UPLOADS.get(path)!, bodyFor, stream === "true" ? "sse" : "bytes")
