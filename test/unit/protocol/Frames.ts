/** Test helpers: SSE frame text ⇄ parsed events, and a fixed encode context. */
import type { EncodeContext, SseEvent } from "../../../src/protocol/Canonical.js"
import { sequentialIds } from "../../../src/protocol/Ids.js"

export const parseFrames = (frames: ReadonlyArray<string>): Array<SseEvent> =>
  frames
    .join("")
    .split("\n\n")
    .filter((f) => f.trim() !== "")
    .map((f) => {
      let event: string | undefined
      const data: Array<string> = []
      for (const line of f.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7)
        else if (line.startsWith("data: ")) data.push(line.slice(6))
      }
      return { event, data: data.join("\n") }
    })

export const jsonData = (frames: ReadonlyArray<string>): Array<any> =>
  parseFrames(frames)
    .filter((e) => e.data !== "[DONE]")
    .map((e) => JSON.parse(e.data))

/** Anthropic-style frames from (event, json) pairs. */
export const anthropicSse = (events: ReadonlyArray<readonly [string, unknown]>): Array<SseEvent> =>
  events.map(([event, data]) => ({ event, data: JSON.stringify(data) }))

export const dataSse = (chunks: ReadonlyArray<unknown>): Array<SseEvent> =>
  chunks.map((c) => ({ data: typeof c === "string" ? c : JSON.stringify(c) }))

export const ctx = (model = "client-model", extra: Partial<EncodeContext> = {}): EncodeContext => ({
  model,
  ids: sequentialIds(),
  now: () => 1_700_000_000,
  ...extra,
})
