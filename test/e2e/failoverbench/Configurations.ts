/**
 * The two set-ups issue 12 asks failoverbench to pass in, as providers files for
 * `startTestGateway`: each scenario model is a logical model of the same name whose upstreams are
 * the scenario model (priority 0) and its fallback (`fb-ok`, or `fb-ok-noprefill` for S14,
 * priority 1) — the benchmark's "one fallback".
 *
 *   (a) one provider entry serving all 18 wall models: the common "one account, a fallback model
 *       on the same account" set-up, where one model's trouble must not close the account;
 *   (b) one provider entry per model, each fallback on its own provider.
 */
import { fallbackOf, SCENARIOS, WALL_MODELS } from "./Catalogue.js"

export interface Configuration {
  readonly name: string
  readonly gatewayFile: (wallUrl: string) => unknown
}

/** `fb-s01-429-retry-after` → `w-s01`, `fb-ok` → `w-ok`, `fb-ok-noprefill` → `w-ok-noprefill`. */
const providerOf = (model: string): string => {
  const rest = model.slice("fb-".length)
  return `w-${rest.startsWith("ok") ? rest : rest.split("-", 1)[0]}`
}

const logicalModels = (providerFor: (model: string) => string) =>
  SCENARIOS.map((scenario) => ({
    id: scenario.model,
    upstreams: [
      { provider: providerFor(scenario.model), model: scenario.model, priority: 0 },
      { provider: providerFor(fallbackOf(scenario)), model: fallbackOf(scenario), priority: 1 },
    ],
  }))

export const CONFIGURATIONS: ReadonlyArray<Configuration> = [
  {
    name: "(a) one provider entry serving all 18 models",
    gatewayFile: (wallUrl) => ({
      providers: [
        {
          id: "wall",
          protocol: "openai",
          base_url: wallUrl,
          keys: [{ value: "sk-wall-account" }],
          models: WALL_MODELS,
        },
      ],
      logical_models: logicalModels(() => "wall"),
    }),
  },
  {
    name: "(b) one provider entry per model, fallbacks on their own provider",
    gatewayFile: (wallUrl) => ({
      providers: WALL_MODELS.map((model) => ({
        id: providerOf(model),
        protocol: "openai",
        base_url: wallUrl,
        keys: [{ value: `sk-${providerOf(model)}` }],
        models: [model],
      })),
      logical_models: logicalModels(providerOf),
    }),
  },
]
