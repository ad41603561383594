/**
 * The failures a stream codec reports itself, as opposed to an upstream's own error event: a frame
 * it cannot read, and a body that ended before the answer did. Both are upstream faults (502).
 */
import type { ErrorInfo } from "./Canonical.js"
import { makeError } from "./Errors.js"

export const malformedFrame = (detail: string): ErrorInfo =>
  makeError("server", `Malformed upstream stream frame: ${detail}`, { status: 502, code: "upstream_malformed_frame" })

export const truncatedStream = (): ErrorInfo =>
  makeError("server", "The upstream stream ended before the response was complete", {
    status: 502,
    code: "upstream_truncated",
  })
