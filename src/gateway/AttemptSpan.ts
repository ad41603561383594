import * as Otel from "@opentelemetry/api"
import { Effect } from "effect"
import { type AnswerFacts, emptyAnswerFacts, readAnswerText } from "../protocol/AnswerFacts.js"
import type { Dialect, UsageDelta } from "../protocol/Canonical.js"
import type { Candidate } from "../routing/Candidates.js"
import type { UpstreamFailure } from "../shared/UpstreamFailure.js"
import { endSpan, type RequestTrace } from "../telemetry/Tracing.js"
import type { Metered } from "./BodyRelay.js"
import type { Exchange } from "./Exchange.js"
import type { GatewayAnswer } from "./GatewayRequest.js"
import type { CommitHooks, LiveStream, StreamOutcome } from "./StreamCommit.js"

/**
 * The client span of one upstream call (telemetry/Tracing), after the OpenTelemetry GenAI
 * conventions: named `{operation} {model}`, with the provider, the model asked and the model
 * that answered, tokens and finish reasons — and the call's W3C `traceparent`, so the provider's
 * own spans hang beneath it. It ends with the call: at once for a JSON answer or a failure, with
 * the stream for a stream (its usage then complete).
 */
export interface AttemptSpan {
  /** The exchange with the span's trace headers added to what goes upstream. */
  readonly exchange: Exchange
  /** Stream hooks that also end the span when this upstream's part of the stream ends. */
  readonly streamHooks: <M extends Metered>(hooks: (metered: M) => CommitHooks) => (metered: M) => CommitHooks
  /** The call (an attempt's answer, or a continuation's stream), its outcome written on the span (a stream's once it ends). */
  readonly watch: <A extends GatewayAnswer | LiveStream>(
    call: Effect.Effect<A, UpstreamFailure>,
  ) => Effect.Effect<A, UpstreamFailure>
}

/** `gen_ai.operation.name` of a generation call, by the dialect spoken upstream. */
const OPERATIONS: Readonly<Record<Dialect, string>> = {
  "openai-chat": "chat",
  "openai-responses": "chat",
  anthropic: "chat",
  gemini: "generate_content",
}

/** `gen_ai.provider.name` by the protocol a provider speaks (which vendor is behind an OpenAI-compatible URL is not known). */
const PROVIDER_NAMES: Readonly<Record<Candidate["provider"]["protocol"], string>> = {
  openai: "openai",
  anthropic: "anthropic",
  gemini: "gcp.gemini",
}

const hostOf = (url: string): string | undefined => {
  try {
    return new URL(url).hostname
  } catch {
    return undefined
  }
}

const setUsage = (span: Otel.Span, usage: UsageDelta) => {
  if (usage.inputTokens !== undefined) span.setAttribute("gen_ai.usage.input_tokens", usage.inputTokens)
  if (usage.outputTokens !== undefined) span.setAttribute("gen_ai.usage.output_tokens", usage.outputTokens)
  if (usage.cachedInputTokens !== undefined)
    span.setAttribute("gen_ai.usage.cache_read.input_tokens", usage.cachedInputTokens)
  if (usage.reasoningTokens !== undefined)
    span.setAttribute("gen_ai.usage.reasoning.output_tokens", usage.reasoningTokens)
}

const setFacts = (span: Otel.Span, facts: AnswerFacts) => {
  if (facts.model !== undefined) span.setAttribute("gen_ai.response.model", facts.model)
  if (facts.finishReasons.length > 0) span.setAttribute("gen_ai.response.finish_reasons", facts.finishReasons)
}

const failed = (span: Otel.Span, failure: UpstreamFailure) => {
  if (failure._tag === "UpstreamStatusError") {
    span.setAttribute("http.response.status_code", failure.status)
    span.setAttribute("error.type", String(failure.status))
  } else span.setAttribute("error.type", failure.reason)
  // The message as the request's warning line has it: the provider's words, credentials redacted.
  span.setStatus({ code: Otel.SpanStatusCode.ERROR, message: failure.message.slice(0, 300) })
  endSpan(span)
}

/** How this upstream's part of a stream ended (`apiproxy.stream.outcome`). */
const outcomeName = (outcome: StreamOutcome) =>
  outcome.complete
    ? "complete"
    : outcome.rescued === true
      ? "rescued"
      : outcome.error === "client disconnected"
        ? "client_disconnected"
        : outcome.byGateway === true
          ? "shutdown"
          : "cut"

const streamEnded = (span: Otel.Span, usage: UsageDelta, facts: AnswerFacts, outcome: StreamOutcome) => {
  setUsage(span, usage)
  setFacts(span, facts)
  const name = outcomeName(outcome)
  span.setAttribute("apiproxy.stream.outcome", name)
  if (name === "cut" || name === "rescued") {
    span.setAttribute("error.type", "stream_broken")
    span.setStatus({ code: Otel.SpanStatusCode.ERROR, message: (outcome.error ?? "the stream broke").slice(0, 300) })
  }
  endSpan(span)
}

/**
 * Starts the span of one call to `candidate`, whose wire exchange is `exchange`: attempt number
 * `attempt` of the walk, or a mid-stream rescue's continuation (`apiproxy.rescue`: its mode).
 */
export const startAttemptSpan = (
  trace: RequestTrace,
  exchange: Exchange,
  candidate: Candidate,
  attempt: number | { readonly rescue: string },
  stream: boolean,
): AttemptSpan => {
  const operation = exchange.upstreamDialect === undefined ? trace.operation : OPERATIONS[exchange.upstreamDialect]
  const providerName = PROVIDER_NAMES[candidate.provider.protocol]
  const host = hostOf(exchange.url)
  const started = performance.now()
  const { span, headers } = trace.call(`${operation} ${candidate.model}`, {
    "gen_ai.operation.name": operation,
    "gen_ai.provider.name": providerName,
    "gen_ai.system": providerName,
    "gen_ai.request.model": candidate.model,
    "gen_ai.request.stream": stream,
    "apiproxy.provider": candidate.provider.id,
    ...(typeof attempt === "number" ? { "apiproxy.attempt": attempt } : { "apiproxy.rescue": attempt.rescue }),
    ...(host === undefined ? {} : { "server.address": host }),
  })
  let relayed = false
  const answered = (answer: GatewayAnswer | LiveStream) => {
    if (!("_tag" in answer) || answer._tag !== "Json") {
      relayed = "_tag" in answer && answer._tag === "Relay"
      // Committed: the first meaningful event is here (a relayed body: its 2xx). The span ends with the stream.
      span.setAttribute("gen_ai.response.time_to_first_chunk", (performance.now() - started) / 1000)
      return
    }
    if (span.isRecording()) {
      const facts = emptyAnswerFacts()
      readAnswerText(facts, answer.body, true)
      setFacts(span, facts)
      setUsage(span, { inputTokens: facts.inputTokens, outputTokens: facts.outputTokens })
    }
    endSpan(span)
  }
  return {
    exchange: { ...exchange, headers: exchange.headers === undefined ? headers : { ...exchange.headers, ...headers } },
    streamHooks: (hooks) => (metered) => {
      const inner = hooks(metered)
      const facts = emptyAnswerFacts()
      const recording = span.isRecording()
      return {
        ...inner,
        observe: (text) => {
          inner.observe?.(text)
          if (recording) readAnswerText(facts, text, false)
        },
        onFinish: (outcome) => {
          inner.onFinish(outcome)
          streamEnded(span, metered.usage(), facts, outcome)
          // A relayed body is the client's answer itself (a committed stream tells the request's span in StreamHooks).
          if (relayed && outcome.error !== "client disconnected")
            trace.span.setAttribute("apiproxy.stream.outcome", outcome.complete ? "complete" : "cut")
        },
      }
    },
    watch: (call) =>
      call.pipe(
        Effect.tapBoth({
          onFailure: (failure) => Effect.sync(() => failed(span, failure)),
          onSuccess: (answer) => Effect.sync(() => answered(answer)),
        }),
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            span.setAttribute("apiproxy.interrupted", true)
            endSpan(span)
          }),
        ),
      ),
  }
}
