/** A providers-file logical model whose upstreams are tried in the order given: priority 0, 1, … */
export const tiered = (id: string, ...upstreams: ReadonlyArray<readonly [provider: string, model: string]>) => ({
  id,
  upstreams: upstreams.map(([provider, model], priority) => ({ provider, model, priority })),
})
