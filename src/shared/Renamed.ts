/**
 * One record across a naming boundary (snake_case on the wire, camelCase in code, column names
 * in SQL): `value`'s fields under the names `names` gives them. Fields `names` does not list and
 * fields that are `undefined` are left out, so the result of a partial `value` (a PATCH) spreads
 * over the current record and changes only what was sent.
 */
export type Renamed<P, N> = { [K in keyof P as K extends keyof N ? (N[K] extends string ? N[K] : never) : never]: P[K] }

export const renamed = <P extends object, const N extends { readonly [K in keyof P]?: string }>(
  value: P,
  names: N,
): Renamed<P, N> => {
  const out: Record<string, unknown> = {}
  for (const field of Object.keys(names) as Array<keyof P & string>) {
    const fieldValue = value[field]
    if (fieldValue !== undefined) out[names[field] as string] = fieldValue
  }
  return out as Renamed<P, N>
}
