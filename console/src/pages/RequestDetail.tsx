import type { Callers } from "../api/Callers.js"
import type { LogRow } from "../api/Types.js"
import {
  attemptMessage,
  callerText,
  costText,
  durationText,
  NONE,
  outcomeOf,
  timeText,
  tokensText,
} from "./LogFormat.js"

const number = (n: number | null): string => (n === null ? NONE : n.toLocaleString("en-US"))

/** One logged request in full: what was asked, who answered, every upstream attempt, and what went wrong. */
export const RequestDetail = ({ row, callers }: { readonly row: LogRow; readonly callers: Callers | undefined }) => {
  const titleId = `log-detail-${row.id}`
  const facts: ReadonlyArray<readonly [string, string]> = [
    ["Request id", row.request_id],
    ["Time", timeText(row.started_at)],
    ["Caller key", callerText(row, callers)],
    ["Endpoint", `${row.dialect} ${row.endpoint}${row.stream ? " (stream)" : ""}`],
    ["Requested model", row.requested_model ?? NONE],
    ["Served by", row.provider === null ? NONE : `${row.provider} / ${row.model ?? NONE}`],
    ["Status", String(row.status)],
    ["Outcome", outcomeOf(row)],
    ["Latency", durationText(row.latency_ms)],
    ["First token", durationText(row.ttft_ms)],
    ["Tokens", tokensText(row.input_tokens, row.output_tokens)],
    ["Cached input tokens", number(row.cached_input_tokens)],
    ["Reasoning tokens", number(row.reasoning_tokens)],
    ["Cost", costText(row.cost_usd)],
    ["Error class", row.error_class ?? NONE],
    ["Error message", row.error_message ?? NONE],
  ]
  return (
    <section class="log-detail" aria-labelledby={titleId}>
      <h2 id={titleId}>Request details</h2>
      <dl class="facts">
        {facts.map(([name, value]) => [<dt key={`${name}-n`}>{name}</dt>, <dd key={`${name}-v`}>{value}</dd>])}
      </dl>
      <h3 id={`${titleId}-attempts`}>Attempts ({row.attempts.length})</h3>
      {row.attempts.length === 0 ? (
        <p>No upstream was called.</p>
      ) : (
        <table class="stack attempts" aria-labelledby={`${titleId}-attempts`}>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Provider</th>
              <th scope="col">Model</th>
              <th scope="col">Outcome</th>
              <th scope="col">Status</th>
              <th scope="col">Latency</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {row.attempts.map((attempt, index) => (
              <tr key={index}>
                <th scope="row">{index + 1}</th>
                <td data-label="Provider">{attempt.provider}</td>
                <td data-label="Model">{attempt.model}</td>
                <td data-label="Outcome">{attempt.outcome}</td>
                <td data-label="Status">{attempt.status ?? NONE}</td>
                <td data-label="Latency">{durationText(attempt.ms)}</td>
                <td data-label="Message">{attemptMessage(attempt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {row.request_body === undefined && row.response_body === undefined ? null : (
        <>
          <h3>Bodies{row.bodies_truncated === true ? " (cut at 32 KiB)" : ""}</h3>
          {row.request_body === undefined ? null : (
            <details>
              <summary>Request body</summary>
              <pre class="body">{row.request_body}</pre>
            </details>
          )}
          {row.response_body === undefined ? null : (
            <details>
              <summary>Response body</summary>
              <pre class="body">{row.response_body}</pre>
            </details>
          )}
        </>
      )}
    </section>
  )
}
