import type { Either } from "effect"
import type { Principal } from "../identity/Principal.js"
import type { CanonicalRequest, Dialect, ProtocolError } from "../protocol/Canonical.js"
import { codecs } from "../protocol/Dialect.js"
import type { RequestRecord } from "../shared/RequestRecord.js"
import type { RequestTrace } from "../telemetry/Tracing.js"
import type { NanoUsd } from "../usage/Cost.js"
import type { RelayedBody } from "./BodyRelay.js"
import type { ClientRequest, Operation } from "./Exchange.js"
import type { ResponsesTurn } from "./ResponsesTurn.js"
import type { LiveStream } from "./StreamCommit.js"

/** One generation request as the HTTP edge hands it to the gateway. */
export interface GatewayRequest {
  readonly dialect: Dialect
  readonly body: Record<string, unknown>
  readonly model: string
  readonly stream: boolean
  readonly principal: Principal
  readonly sessionId?: string | undefined
  /** Annotates the gateway's own log lines about this request. */
  readonly requestId?: string | undefined
  /** The client's provider feature headers (validated at the edge), for same-dialect upstreams only. */
  readonly featureHeaders?: Readonly<Record<string, string>> | undefined
  /**
   * What is asked when it is not generation (embeddings, a pass-through endpoint); `dialect` is
   * then the client's family (errors), and `body` the client's body as sent.
   */
  readonly operation?: Operation | undefined
  /** The request log's record of this request (REQUEST_LOG=on): attempts, usage and how a stream ended are added as they happen. */
  readonly record?: RequestRecord | undefined
  /** The request's trace when tracing is on (telemetry/Tracing): each upstream call gets a span beneath it. */
  readonly trace?: RequestTrace | undefined
}

/**
 * The request's `gen_ai.operation.name` (OpenTelemetry GenAI conventions) for metrics: its
 * operation's (embeddings, a pass-through endpoint), else `generate_content` for Gemini and `chat`
 * for the chat dialects (chat completions, Responses, Messages).
 */
export const operationNameOf = (request: Pick<GatewayRequest, "dialect" | "operation">): string =>
  request.operation !== undefined ? request.operation.name : request.dialect === "gemini" ? "generate_content" : "chat"

/** Which upstream really served the answer, reported to the client in headers. */
export interface Served {
  readonly provider: string
  readonly model: string
  readonly attempts: number
  /** Optional features the conversion for this upstream left out (`x-apiproxy-dropped`). */
  readonly dropped?: ReadonlyArray<string>
}

export type GatewayAnswer =
  | {
      readonly _tag: "Json"
      readonly body: string
      readonly served: Served
      /** What the answer cost in nano-dollars (`x-apiproxy-cost`); null: its model has no price. */
      readonly cost: NanoUsd | null
    }
  | { readonly _tag: "Stream"; readonly stream: LiveStream; readonly served: Served }
  | { readonly _tag: "Relay"; readonly relay: RelayedBody; readonly served: Served }

/** `compute`'s value, computed on the first call only. */
export const memoize = <A>(compute: () => A): (() => A) => {
  let done = false
  let value: A
  return () => {
    if (!done) {
      value = compute()
      done = true
    }
    return value
  }
}

/** The request as the walk holds it: its canonical form decoded on first use only (passthrough never needs it). */
export const clientRequestOf = (request: GatewayRequest, turn?: ResponsesTurn): ClientRequest => ({
  turn,
  dialect: request.dialect,
  body: request.body,
  stream: request.stream,
  requestedModel: request.model,
  featureHeaders: request.featureHeaders,
  operation: request.operation,
  canonical: memoize(
    (): Either.Either<CanonicalRequest, ProtocolError> =>
      codecs[request.dialect].decodeRequest(request.body, { model: request.model, stream: request.stream }),
  ),
})
