/** SSE frame encoding (text only). Parsing upstream SSE is `@effect/experimental` Sse's job. */

/** One frame: optional `event:` line, one `data:` line per line of data, blank line. */
export const sseFrame = (data: string, event?: string): string => {
  let out = event !== undefined ? `event: ${event}\n` : ""
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  return out + "\n"
}

export const sseJson = (value: unknown, event?: string): string => sseFrame(JSON.stringify(value), event)

export const SSE_DONE = "data: [DONE]\n\n"

/** `@effect/experimental` reports events without an `event:` line as "message". */
export const eventName = (event: string | undefined): string | undefined =>
  event === undefined || event === "" || event === "message" ? undefined : event
