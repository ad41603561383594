import { describe, expect, it } from "vitest"
import { containsInOrder } from "../../support/InOrder.js"
import { promisedFragments, readmeBlocks } from "../../support/ReadmeBlocks.js"

const markdown = [
  "# Title",
  "",
  "<!-- readme-quickstart: shell -->",
  "```sh",
  'echo \'{"a":1,"b":2}\'',
  '# → {"a":…,"b":2}',
  "#   done",
  "# not promised",
  "```",
  "",
  "```sh",
  "echo unmarked",
  "```",
  "",
  "Text naming `<!-- readme-quickstart: … -->` is no marker.",
  "<!-- readme-quickstart: hello.mjs -->",
  "```js",
  'console.log("hi") // → hi',
  "```",
].join("\n")

describe("README quick-start blocks", () => {
  it("finds only marked blocks, in order, with their kind, language and line", () => {
    expect(readmeBlocks(markdown).map(({ kind, lang, line }) => ({ kind, lang, line }))).toEqual([
      { kind: "shell", lang: "sh", line: 3 },
      { kind: "hello.mjs", lang: "js", line: 16 },
    ])
  })

  it("a block's promised output: its → comment and continuation lines, cut at …", () => {
    const [shell, js] = readmeBlocks(markdown)
    expect(promisedFragments(shell!)).toEqual(['{"a":', ',"b":2}', "done"])
    expect(promisedFragments(js!)).toEqual(["hi"])
  })

  it("fragments must all appear, in order", () => {
    expect(containsInOrder('{"a":1,"b":2}\ndone\n', ['{"a":', ',"b":2}', "done"])).toBe(true)
    expect(containsInOrder('done\n{"a":1,"b":2}', ['{"a":', ',"b":2}', "done"])).toBe(false)
    expect(containsInOrder('{"a":1,"b":3}', ['{"a":', ',"b":2}'])).toBe(false)
  })
})
