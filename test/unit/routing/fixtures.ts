import { Redacted } from "effect"
import type { LogicalModel, Provider, ProviderKey, RegistrySnapshot } from "../../../src/registry/Provider.js"
import { defaultPaths } from "../../../src/registry/Provider.js"

export const makeKey = (id: string, overrides: Partial<ProviderKey> = {}): ProviderKey => ({
  id,
  label: id,
  secret: Redacted.make(`sk-${id}`),
  weight: 1,
  maxQps: null,
  ...overrides,
})

export const makeProvider = (id: string, overrides: Partial<Provider> = {}): Provider => ({
  id,
  name: id,
  protocol: "openai",
  baseUrl: `https://${id}.example`,
  type: "native",
  weight: 1,
  enabled: true,
  keys: [makeKey(`${id}-k1`)],
  models: [],
  aliases: {},
  paths: defaultPaths("openai"),
  retryableStatus: null,
  headers: {},
  costInput: null,
  costOutput: null,
  ...overrides,
})

export const makeSnapshot = (
  providers: ReadonlyArray<Provider>,
  logicalModels: ReadonlyArray<LogicalModel> = [],
): RegistrySnapshot => ({
  providers: new Map(providers.map((p) => [p.id, p])),
  logicalModels: new Map(logicalModels.map((m) => [m.id, m])),
  loadedAt: 0,
})

export const noLists = (_: string): ReadonlyArray<string> | undefined => undefined
