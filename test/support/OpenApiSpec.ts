/**
 * Loads the official OpenAI OpenAPI document and exposes an Ajv 2020 validator per component schema.
 *
 * The document is OpenAPI 3.1 but still carries some 3.0-style `nullable: true` flags, which
 * JSON Schema 2020-12 does not know; they are rewritten to `type: [T, "null"]` / `anyOf [.., null]`.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { ErrorObject, ValidateFunction } from "ajv"
import { Ajv2020 } from "ajv/dist/2020.js"
import { parse } from "yaml"

export const OPENAI_SPEC_PATH = "/work/shared/specs/openai-openapi.yaml"

const rewriteNullable = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(rewriteNullable)
  if (node === null || typeof node !== "object") return node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) out[k] = rewriteNullable(v)
  if (out.nullable === true) {
    delete out.nullable
    if (typeof out.type === "string") {
      out.type = [out.type, "null"]
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null]
      return out
    }
    if (Array.isArray(out.type)) {
      if (!out.type.includes("null")) out.type = [...out.type, "null"]
      return out
    }
    return { anyOf: [out, { type: "null" }] }
  }
  if (out.nullable === false) delete out.nullable
  return out
}

let cached: { ajv: InstanceType<typeof Ajv2020>; validators: Map<string, ValidateFunction> } | undefined

/**
 * The document, rewritten, as JSON in the temp directory keyed by the YAML's hash: parsing the
 * 2 MB of YAML costs about 2 s of CPU, and each worker process of a test run would parse it again.
 */
const readDocument = (): Record<string, unknown> => {
  const yaml = fs.readFileSync(OPENAI_SPEC_PATH, "utf8")
  const key = createHash("sha256").update(yaml).digest("hex").slice(0, 16)
  const cache = path.join(os.tmpdir(), `apiproxy-openai-spec-${key}.json`)
  try {
    return JSON.parse(fs.readFileSync(cache, "utf8")) as Record<string, unknown>
  } catch {
    const doc = rewriteNullable(parse(yaml)) as Record<string, unknown>
    const staging = `${cache}.${process.pid}`
    fs.writeFileSync(staging, JSON.stringify(doc))
    fs.renameSync(staging, cache)
    return doc
  }
}

const load = () => {
  if (cached) return cached
  const doc = readDocument()
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
  ajv.addSchema({ $id: "openai", components: doc.components }, "openai")
  cached = { ajv, validators: new Map() }
  return cached
}

/** Validator for `#/components/schemas/<name>` of the OpenAI document. */
export const openAiValidator = (name: string): ValidateFunction => {
  const { ajv, validators } = load()
  let v = validators.get(name)
  if (!v) {
    v = ajv.getSchema(`openai#/components/schemas/${name}`)
    if (!v) throw new Error(`No schema ${name} in the OpenAI document`)
    validators.set(name, v)
  }
  return v
}

/** Validates `value` against a component schema; returns readable errors (empty when valid). */
export const validateOpenAi = (name: string, value: unknown): ReadonlyArray<string> => {
  const v = openAiValidator(name)
  if (v(value)) return []
  return (v.errors ?? []).map(
    (e: ErrorObject) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`,
  )
}
