import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runMain } from "../support/GatewayProcess.js"

describe("apiproxy check-config <file>: a providers file checked without starting anything", {
  timeout: 60_000,
}, () => {
  let dir: string
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-check-"))
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  const write = (name: string, text: string) => {
    const file = path.join(dir, name)
    fs.writeFileSync(file, text)
    return file
  }

  it("a valid file: exit 0 and what it holds; an upstream outside the file is noted", async () => {
    const file = write(
      "ok.yaml",
      "providers:\n  - id: openai\n    base_url: https://api.openai.com/v1\n    keys: [{ value_env: TEST_OPENAI_KEY }]\nlogical_models:\n  - id: fast\n    upstreams: [{ provider: openai, model: gpt-4o-mini }, { provider: elsewhere, model: x }]\n",
    )
    const run = await runMain({ TEST_OPENAI_KEY: "sk-check-config-0123456789" }, { args: ["check-config", file] })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("valid — 1 provider(s) with 1 key(s), 1 logical model(s)")
    expect(run.stdout).toMatch(/note: .*unknown provider "elsewhere"/)
    expect(run.stdout + run.stderr).not.toContain("sk-check-config")
  })

  it("a broken file: exit 1, every problem with its line, no secret", async () => {
    const file = write(
      "broken.yaml",
      "providers:\n  - id: openai\n    base_url: ftp://x\n    keys: [{ value: sk-inline-secret-0123456789 }]\n  - id: Bad Id\n    base_url: https://ok.example\n    weight: 0\n",
    )
    const run = await runMain({}, { args: ["check-config", file] })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`${file}: 3 problems:`)
    expect(run.stderr).toMatch(/line 3, column \d+: providers\[0\]\.base_url: expected an http\(s\) URL/)
    expect(run.stderr).toMatch(/line 5, column \d+: providers\[1\]\.id: expected a slug/)
    expect(run.stderr).toMatch(/line 7, column \d+: providers\[1\]\.weight: expected a number > 0/)
    expect(run.stderr).not.toContain("sk-inline-secret")
  })

  it("a missing file, a missing variable and a missing argument are named", async () => {
    const missing = await runMain({}, { args: ["check-config", path.join(dir, "nope.yaml")] })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/nope\.yaml: file not found \(named by GATEWAY_CONFIG; looked for .*nope\.yaml\)/)
    const unset = await runMain(
      {},
      {
        args: [
          "check-config",
          write(
            "env.yaml",
            "providers:\n  - id: a\n    base_url: https://a.example\n    keys: [{ value_env: NOT_SET_HERE }]\n",
          ),
        ],
      },
    )
    expect(unset.code).toBe(1)
    expect(unset.stderr).toMatch(
      /line 4, column \d+: providers\[0\]\.keys\[0\]\.value_env: environment variable NOT_SET_HERE is not set/,
    )
    const bare = await runMain({}, { args: ["check-config"] })
    expect(bare.code).toBe(1)
    expect(bare.stderr).toContain("check-config <file>")
  })
})
