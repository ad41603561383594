import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))

/** The repository's own Markdown: what a reader of a fresh clone follows. */
const DOCUMENTS = ["README.md", "SECURITY.md", "docs/ARCHITECTURE.md", "bench/RESULTS.md", "bench/FAILOVER.md"].filter(
  (file) => fs.existsSync(path.join(root, file)),
)

/** Targets of `[text](target)` links that are neither URLs nor in-page anchors, without their `#fragment`. */
const relativeLinks = (markdown: string): ReadonlyArray<string> =>
  [...markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^([a-z][a-z0-9+.-]*:|#)/i.test(target))
    .map((target) => target.replace(/#.*$/, ""))

describe("documentation links stay inside the repository", () => {
  it("reads the README (the check has something to check)", () => {
    expect(relativeLinks(fs.readFileSync(path.join(root, "README.md"), "utf8"))).toContain(".env.example")
  })

  it.each(DOCUMENTS)("%s: every relative link names a file of the repository", (document) => {
    const from = path.dirname(path.join(root, document))
    const broken = relativeLinks(fs.readFileSync(path.join(root, document), "utf8")).filter((target) => {
      const resolved = path.resolve(from, decodeURIComponent(target))
      return path.relative(root, resolved).startsWith("..") || !fs.existsSync(resolved)
    })
    expect(broken, `${document} links outside the repository or to a missing file`).toEqual([])
  })
})
