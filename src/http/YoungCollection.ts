import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

/**
 * A young-generation collection after every `EVERY_BYTES` of uploads read, whatever upload they
 * belong to.
 *
 * Why: Node copies every piece of a request body it reads into a fresh Buffer (its HTTP parser,
 * 64 KiB at most). The Buffer objects are small, the bytes outside V8's heap; a 20 MB upload
 * allocates about 20 MB that way and almost nothing on the heap, so no young collection runs
 * while it arrives, and V8 collects the dead buffers only once their external memory passes its
 * limit (tens of MB). Measured with a 20 MB upload and nothing else: the process grew 16–20 MB,
 * and kept that size (the allocator holds on to freed memory it grew for). The gateway cannot
 * choose how Node allocates socket reads (the outgoing side reuses one buffer: UploadSpool), so it
 * asks V8 for a young collection (a scavenge, ~1–5 ms) after every 4 MiB read: the buffers read
 * since the last one die in it, and the next ones reuse their memory. With it, the gateway
 * relaying a 20 MB upload grows by a few MB (test/e2e/audio-upload-memory.test.ts).
 *
 * The collection function comes from V8's `gc` extension, exposed for one fresh context and
 * hidden again; a process started with `--expose-gc` has it already. Without it (some embedding
 * refused the flag), nothing is collected early — uploads still work.
 */
const EVERY_BYTES = 4 * 1024 * 1024

type Collect = (options: { readonly type: "minor" }) => void

let collect: Collect | null | undefined
let sinceLast = 0

const collector = (): Collect | null => {
  if (collect !== undefined) return collect
  const own = (globalThis as { gc?: unknown }).gc
  if (typeof own === "function") return (collect = own as Collect)
  try {
    setFlagsFromString("--expose-gc")
    const exposed: unknown = runInNewContext("gc")
    collect = typeof exposed === "function" ? (exposed as Collect) : null
  } catch {
    collect = null
  } finally {
    setFlagsFromString("--no-expose-gc")
  }
  return collect
}

/** Counts `bytes` of upload read; runs a young collection every `EVERY_BYTES`. */
export const noteUploadBytes = (bytes: number): void => {
  sinceLast += bytes
  if (sinceLast < EVERY_BYTES) return
  sinceLast = 0
  collector()?.({ type: "minor" })
}
