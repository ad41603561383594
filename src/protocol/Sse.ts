/** SSE frame encoding (text only). Parsing upstream SSE is `eventsource-parser`'s job (gateway/StreamCommit). */

/** One frame: optional `event:` line, one `data:` line per line of data, blank line. */
export const sseFrame = (data: string, event?: string): string => {
  let out = event !== undefined ? `event: ${event}\n` : ""
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  return out + "\n"
}

/**
 * One frame of JSON. `JSON.stringify` never writes a line break (those in strings are escaped), so
 * the frame is one data line: what `sseFrame` would write, without splitting the text (this is
 * every translated or re-serialised frame of a stream).
 */
export const sseJson = (value: unknown, event?: string): string => {
  const json: unknown = JSON.stringify(value)
  if (typeof json !== "string") return sseFrame(json as string, event)
  return event !== undefined ? `event: ${event}\ndata: ${json}\n\n` : `data: ${json}\n\n`
}

export const SSE_DONE = "data: [DONE]\n\n"

/** "message" is the SSE default event name: the same as none. */
export const eventName = (event: string | undefined): string | undefined =>
  event === undefined || event === "" || event === "message" ? undefined : event
