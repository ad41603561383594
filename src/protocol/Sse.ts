/** SSE frame encoding (text only). Parsing upstream SSE is `eventsource-parser`'s job (gateway/StreamCommit). */

/** One frame: optional `event:` line, one `data:` line per line of data, blank line. */
export const sseFrame = (data: string, event?: string): string => {
  let out = event !== undefined ? `event: ${event}\n` : ""
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  return out + "\n"
}

export const sseJson = (value: unknown, event?: string): string => sseFrame(JSON.stringify(value), event)

export const SSE_DONE = "data: [DONE]\n\n"

/** "message" is the SSE default event name: the same as none. */
export const eventName = (event: string | undefined): string | undefined =>
  event === undefined || event === "" || event === "message" ? undefined : event
