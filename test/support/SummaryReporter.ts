import type { File, Task } from "@vitest/runner"
import type { Reporter } from "vitest/reporters"

/** Prints the plain closing line CI reads: `N passed, N failed`. */
const collect = (tasks: ReadonlyArray<Task>, acc: { passed: number; failed: number; skipped: number }) => {
  for (const task of tasks) {
    if (task.type === "suite") {
      collect(task.tasks, acc)
      // A suite whose hook failed (its tests then show as skipped) or that holds no test is a failure.
      if (task.result?.state === "fail" && (task.tasks.length === 0 || (task.result.errors?.length ?? 0) > 0))
        acc.failed++
    } else {
      const state = task.result?.state
      if (state === "pass") acc.passed++
      else if (state === "fail") acc.failed++
      else acc.skipped++
    }
  }
  return acc
}

export default class SummaryReporter implements Reporter {
  onFinished(files: ReadonlyArray<File> = [], errors: ReadonlyArray<unknown> = []) {
    const acc = collect(files, { passed: 0, failed: 0, skipped: 0 })
    // A file that failed to load has no tests but must still count as a failure.
    for (const file of files) if (file.result?.state === "fail" && file.tasks.length === 0) acc.failed++
    acc.failed += errors.length
    const skipped = acc.skipped > 0 ? `, ${acc.skipped} skipped` : ""
    process.stdout.write(`\n${acc.passed} passed, ${acc.failed} failed${skipped}\n`)
  }
}
