import { Duration, Effect, Either } from "effect"
import type { Principal } from "../identity/Principal.js"
import { countsTokens } from "../identity/RateLimit.js"
import type { Candidate } from "../routing/Candidates.js"
import { addCost, addUsage, type RequestRecord } from "../shared/RequestRecord.js"
import { type UpstreamFailure, UpstreamTransportError } from "../shared/UpstreamFailure.js"
import type { UpstreamClientService, UpstreamRequest } from "../upstream/UpstreamClient.js"
import { type Metered, relayBody } from "./BodyRelay.js"
import type { ClientRequest, Exchange } from "./Exchange.js"
import type { GatewayAnswer, Served } from "./GatewayRequest.js"
import type { RequestLimits } from "./RequestLimits.js"
import type { StreamCodec } from "./StreamCodec.js"
import { type CommitHooks, commitStream, type LiveStream } from "./StreamCommit.js"
import type { UsageRecording } from "./UsageRecording.js"

/**
 * A streaming request under the request's limits: the first-token limit counts from the request
 * (a route silent before its headers is left as early), the idle limit is the body timeout; then
 * the stream is committed (StreamCommit). Used by the first call and by a continuation alike.
 */
export const openCommitted = (
  upstream: UpstreamClientService,
  request: UpstreamRequest,
  codec: StreamCodec,
  limits: RequestLimits,
  served: Served,
  hooks: CommitHooks,
): Effect.Effect<LiveStream, UpstreamFailure> => {
  const opened = Date.now()
  const firstTokenMs = limits.firstTokenMs
  return Effect.flatMap(
    upstream.open({ ...withIdleLimit(request, limits), stream: true, headersTimeoutMs: firstTokenMs }),
    (response) =>
      commitStream(response, codec, Duration.millis(Math.max(1, firstTokenMs - (Date.now() - opened))), served, hooks),
  )
}

const withIdleLimit = (request: UpstreamRequest, limits: RequestLimits): UpstreamRequest =>
  limits.idleMs === undefined ? request : { ...request, idleTimeoutMs: limits.idleMs }

/** One upstream call: send, then read the JSON answer or commit the stream. */
export const makeUpstreamCall =
  (upstream: UpstreamClientService, usage: UsageRecording) =>
  (
    principal: Principal,
    client: ClientRequest,
    exchange: Exchange,
    candidate: Candidate,
    key: Candidate["provider"]["keys"][number],
    served: Served,
    streamHooks: (metered: Metered) => CommitHooks,
    limits: RequestLimits,
    record: RequestRecord | undefined,
  ): Effect.Effect<GatewayAnswer, UpstreamFailure> => {
    const request = {
      provider: candidate.provider,
      key,
      model: candidate.model,
      url: exchange.url,
      body: exchange.body,
      headers: exchange.headers,
      stream: client.stream,
    }
    if (exchange.relay !== undefined) {
      // Committed at the 2xx: from here the bytes are the client's (BodyRelay).
      return Effect.map(
        upstream.open(withIdleLimit({ ...request, stream: exchange.relay === "sse" }, limits)),
        (response): GatewayAnswer => ({ _tag: "Relay", relay: relayBody(response, streamHooks), served }),
      )
    }
    if (client.stream && exchange.streamCodec !== undefined) {
      const codec = exchange.streamCodec()
      return Effect.map(
        openCommitted(upstream, request, codec, limits, served, streamHooks(codec)),
        (stream): GatewayAnswer => ({ _tag: "Stream", stream, served }),
      )
    }
    return Effect.flatMap(upstream.send(withIdleLimit(request, limits)), (response) => {
      const translated = exchange.translateJson(response.text)
      if (Either.isLeft(translated)) {
        return Effect.fail(
          new UpstreamTransportError({
            provider: served.provider,
            model: served.model,
            reason: "malformed",
            message: translated.left,
          }),
        )
      }
      const cost = usage.recordAnswered(principal, served, translated.right.usage, true, client)
      const answer: GatewayAnswer = { _tag: "Json", body: translated.right.body, served, cost }
      addUsage(record, translated.right.usage)
      addCost(record, cost)
      return countsTokens(principal)
        ? Effect.as(usage.recordUsage(principal, translated.right.usage), answer)
        : Effect.succeed(answer)
    })
  }

export type UpstreamCall = ReturnType<typeof makeUpstreamCall>
