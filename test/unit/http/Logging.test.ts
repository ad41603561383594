import { LogLevel } from "effect"
import { describe, expect, it } from "vitest"
import { droppedLogLines, makeLogging } from "../../../src/http/Logging.js"

const turn = () => new Promise((resolve) => setTimeout(resolve, 5))

describe("logging to a standard error that went away", () => {
  it("stops writing, drops and counts the lines, never throws", async () => {
    const original = process.stderr.write.bind(process.stderr)
    const writes: Array<string> = []
    // What a pipe whose reader exited does: the write fails with EPIPE, reported to the callback
    // and as an 'error' event (which, unhandled, ends the process).
    process.stderr.write = ((chunk: unknown, callback?: unknown) => {
      writes.push(String(chunk))
      const error = Object.assign(new Error("write EPIPE"), { code: "EPIPE" })
      process.nextTick(() => {
        if (typeof callback === "function") callback(error)
        process.stderr.emit("error", error)
      })
      return false
    }) as typeof process.stderr.write
    try {
      const { lines } = makeLogging(undefined, LogLevel.Info)
      const before = droppedLogLines()
      lines.info("first", { n: 1 })
      await turn()
      // The batch that failed is counted as dropped; later lines are not written at all.
      expect(writes).toHaveLength(1)
      expect(droppedLogLines()).toBe(before + 1)
      for (let i = 0; i < 1_000; i++) lines.info("more", { i })
      await turn()
      expect(writes).toHaveLength(1)
      expect(droppedLogLines()).toBe(before + 1_001)
      console.log(`closed stderr (unit): 1 write attempted, ${droppedLogLines() - before} lines dropped and counted`)
    } finally {
      process.stderr.write = original
    }
  })
})
