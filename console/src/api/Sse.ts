/**
 * Server-sent events as the OpenAI chat stream sends them: `data:` lines grouped into events by
 * a blank line. Fed text in any chunking (a line may arrive in pieces); yields each event's data.
 */
export const createSseParser = (onData: (data: string) => void) => {
  let buffer = ""
  let data: Array<string> = []
  const dispatch = () => {
    if (data.length > 0) onData(data.join("\n"))
    data = []
  }
  const line = (text: string) => {
    if (text === "") return dispatch()
    if (text.startsWith(":")) return
    const colon = text.indexOf(":")
    const field = colon < 0 ? text : text.slice(0, colon)
    let value = colon < 0 ? "" : text.slice(colon + 1)
    if (value.startsWith(" ")) value = value.slice(1)
    if (field === "data") data.push(value)
  }
  return {
    push(chunk: string) {
      buffer += chunk
      let end: number
      while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
        // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
        if (buffer[end] === "\r" && end === buffer.length - 1) break
        const text = buffer.slice(0, end)
        buffer = buffer.slice(end + (buffer.startsWith("\r\n", end) ? 2 : 1))
        line(text)
      }
    },
    /** The stream ended: an event not closed by a blank line still counts. */
    end() {
      if (buffer !== "") line(buffer)
      buffer = ""
      dispatch()
    },
  }
}

/** What one chat-completion chunk adds to the answer, or the error an in-band error frame carries. */
export type ChatChunk =
  | { readonly _tag: "Delta"; readonly text: string }
  | { readonly _tag: "Done" }
  | { readonly _tag: "Error"; readonly message: string }
  | { readonly _tag: "Other" }

export const readChatChunk = (data: string): ChatChunk => {
  if (data.trim() === "[DONE]") return { _tag: "Done" }
  let parsed: unknown
  try {
    parsed = JSON.parse(data)
  } catch {
    return { _tag: "Error", message: "the gateway sent an event that is not JSON" }
  }
  if (typeof parsed !== "object" || parsed === null) return { _tag: "Other" }
  const record = parsed as { error?: { message?: unknown }; choices?: Array<{ delta?: { content?: unknown } }> }
  if (record.error !== undefined) {
    return {
      _tag: "Error",
      message: typeof record.error?.message === "string" ? record.error.message : "the stream ended with an error",
    }
  }
  const content = record.choices?.[0]?.delta?.content
  return typeof content === "string" && content !== "" ? { _tag: "Delta", text: content } : { _tag: "Other" }
}
