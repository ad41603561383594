/**
 * The README's quick-start blocks: each fenced block preceded by a line
 * `<!-- readme-quickstart: <kind> -->`, in the order they appear. `kind` says how
 * test/e2e/readme-quickstart.test.ts uses it (`start`, `shell`, `hello.mjs`, `start walkthrough`,
 * `walkthrough`).
 */
export interface ReadmeBlock {
  readonly kind: string
  readonly lang: string
  readonly code: string
  /** 1-based line of the marker, for failure messages. */
  readonly line: number
}

const BLOCK = /^<!-- readme-quickstart: ([\w. -]+?) -->\n```(\w*)\n([\s\S]*?)\n```$/gm

export const readmeBlocks = (markdown: string): ReadonlyArray<ReadmeBlock> =>
  [...markdown.matchAll(BLOCK)].map((m) => ({
    kind: m[1]!,
    lang: m[2]!,
    code: m[3]!,
    line: markdown.slice(0, m.index).split("\n").length,
  }))

/**
 * What a block says it prints: its `# → …` (shell) or `// → …` (JavaScript) comments, with their
 * continuation lines (`#   …`), cut at each `…` into fragments the output must contain in order.
 */
export const promisedFragments = (block: ReadmeBlock): ReadonlyArray<string> => {
  const comment = block.lang === "sh" ? "#" : "//"
  const lines = block.code.split("\n")
  const promised: Array<string> = []
  let inPromise = false
  for (const line of lines) {
    const at = line.indexOf(`${comment} → `)
    if (at >= 0) {
      promised.push(line.slice(at + comment.length + 3))
      inPromise = true
    } else if (inPromise && line.startsWith(`${comment}   `)) {
      promised.push(line.slice(comment.length + 3))
    } else {
      inPromise = false
    }
  }
  return promised
    .flatMap((text) => text.split("…"))
    .map((fragment) => fragment.trim())
    .filter((fragment) => fragment !== "")
}
