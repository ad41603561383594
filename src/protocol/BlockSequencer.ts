import type { StreamEvent } from "./Canonical.js"

/**
 * Makes the content blocks of a canonical event stream sequential. An upstream that streams
 * several output items at once (OpenAI Responses may interleave parallel function calls) would
 * otherwise hand overlapping blocks to client dialects whose grammar has one open block at a time
 * (Anthropic), and their encoders would lose the deltas of a block they had already closed.
 *
 * The first block streams live; the events of blocks started meanwhile are held and released,
 * in the order the blocks started, when the live one stops. Events outside blocks pass through.
 */
export const makeBlockSequencer = (): ((events: ReadonlyArray<StreamEvent>) => ReadonlyArray<StreamEvent>) => {
  let live: number | undefined
  const held = new Map<number, { readonly events: Array<StreamEvent>; stopped: boolean }>()

  const releaseHeld = (out: Array<StreamEvent>) => {
    live = undefined
    for (const [index, block] of held) {
      held.delete(index)
      out.push(...block.events)
      if (!block.stopped) {
        live = index
        return
      }
    }
  }

  return (events) => {
    const out: Array<StreamEvent> = []
    for (const ev of events) {
      if (!("index" in ev)) {
        out.push(ev)
        continue
      }
      if (ev.type === "block_start" && live === undefined && held.size === 0) {
        live = ev.index
        out.push(ev)
      } else if (ev.index === live) {
        out.push(ev)
        if (ev.type === "block_stop") releaseHeld(out)
      } else {
        const block = held.get(ev.index)
        if (block !== undefined) {
          block.events.push(ev)
          if (ev.type === "block_stop") block.stopped = true
        } else if (ev.type === "block_start") held.set(ev.index, { events: [ev], stopped: false })
        else out.push(ev)
      }
    }
    return out
  }
}
