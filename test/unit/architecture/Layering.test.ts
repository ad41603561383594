import * as fs from "node:fs"
import { cruise, type ICruiseOptions, type ICruiseResult } from "dependency-cruiser"
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options"
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config"
import { describe, expect, it } from "vitest"

/**
 * The import rules of docs/ARCHITECTURE.md ("Layering"), as `.dependency-cruiser.cjs` states
 * them, checked over the real tree; and the same rules over a fixture tree whose planted
 * violations must each be reported, so a rule that silently matches nothing fails here too.
 */

const CONFIG = "./.dependency-cruiser.cjs"
const FIXTURE = "test/unit/architecture/fixtures/src"

const tsConfig = extractTSConfig("tsconfig.json")

const violationsOf = async (paths: Array<string>, options: ICruiseOptions) => {
  const reported = await cruise(paths, { ...options, outputType: "json" }, {}, { tsConfig })
  const result = (typeof reported.output === "string" ? JSON.parse(reported.output) : reported.output) as ICruiseResult
  return {
    cruised: result.summary.totalCruised,
    // A symlinked node_modules resolves to a path outside the tree: name a package the same either way.
    violations: result.summary.violations
      .map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*?node_modules\//, "node_modules/")}`)
      .sort(),
  }
}

/** The same rule set with `src/` anchored at the fixture tree instead. */
const rerootedAtFixture = (options: ICruiseOptions): ICruiseOptions =>
  JSON.parse(JSON.stringify(options).replaceAll('"^src/', `"^${FIXTURE}/`)) as ICruiseOptions

describe("layering (docs/ARCHITECTURE.md)", () => {
  it("no import in src/ or migrations/ breaks a rule", async () => {
    const options = await extractDepcruiseOptions(CONFIG)
    const { cruised, violations } = await violationsOf(["src", "migrations"], options)
    expect(cruised).toBeGreaterThan(100) // the tree was really read, not an empty match
    expect(violations).toEqual([])
  })

  it("every import planted against a rule in the fixture is reported, and nothing else", async () => {
    const options = rerootedAtFixture(await extractDepcruiseOptions(CONFIG))
    const { violations } = await violationsOf([FIXTURE], options)
    const at = (file: string) => `${FIXTURE}/${file}`
    expect(violations).toEqual(
      [
        `folder-imports-root: ${at("http/Server.ts")} -> ${at("App.ts")}`,
        `layer-shared: ${at("shared/Names.ts")} -> ${at("config/Settings.ts")}`,
        `layer-upstream: ${at("upstream/Client.ts")} -> ${at("gateway/Pipeline.ts")}`,
        `only-storage-runs-sql: ${at("identity/KeyLookup.ts")} -> node_modules/@effect/sql/dist/dts/SqlClient.d.ts`,
        `pure-protocol: ${at("protocol/Codec.ts")} -> fs`,
      ].sort(),
    )
  })

  it("every folder of src/ has its layer rule (a new folder must be placed in the layering)", async () => {
    const options = await extractDepcruiseOptions(CONFIG)
    const ruleNames = new Set((options.ruleSet?.forbidden ?? []).map((rule) => rule.name))
    const folders = fs
      .readdirSync("src", { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
    expect(folders.length).toBeGreaterThan(10)
    expect(folders.filter((folder) => !ruleNames.has(`layer-${folder}`))).toEqual([])
  })
})
