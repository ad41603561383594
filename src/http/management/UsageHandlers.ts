import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { CurrentPrincipal } from "../../identity/Principal.js"
import type { UsageCounts } from "../../storage/UsageRepository.js"
import { usdText } from "../../usage/Cost.js"
import { UsageLedger } from "../../usage/UsageLedger.js"
import { BadRequest } from "./CoreApi.js"
import { managed } from "./Errors.js"
import { ManagementApi } from "./ManagementApi.js"
import { requireSelfOrSuperuser } from "./Security.js"

const DAY_MS = 24 * 60 * 60 * 1000
const COUNTS = [
  "requests",
  "incomplete",
  "input_tokens",
  "output_tokens",
  "cached_input_tokens",
  "unpriced",
] as const satisfies ReadonlyArray<keyof UsageCounts>

/** A row's counts as `GET /usage` shows them: the cost in USD (null when nothing was priced). */
const shown = <R extends UsageCounts>({ cost_nanousd, unpriced, ...rest }: R) => ({
  ...rest,
  cost_usd: unpriced >= rest.requests && rest.requests > 0 ? null : usdText(BigInt(cost_nanousd)),
  unpriced_requests: unpriced,
})

export const UsageHandlers = HttpApiBuilder.group(ManagementApi, "usage", (handlers) =>
  Effect.gen(function* () {
    const ledger = yield* UsageLedger
    return handlers.handle("summary", ({ urlParams }) =>
      Effect.gen(function* () {
        const principal = yield* CurrentPrincipal
        // A user (and a user's key) sees only their own usage; a superuser sees everyone's.
        const userId = urlParams.user_id ?? (principal.isSuperuser ? undefined : (principal.userId ?? undefined))
        if (userId !== undefined) yield* requireSelfOrSuperuser(principal, userId)
        const to = urlParams.to ?? new Date()
        const from = urlParams.from ?? new Date(to.getTime() - DAY_MS)
        if (from.getTime() >= to.getTime()) return yield* new BadRequest({ message: "'from' must be before 'to'" })
        const rows = yield* ledger.summary({ from, to, userId, bucket: urlParams.group_by })
        const totals = {
          requests: 0,
          incomplete: 0,
          input_tokens: 0,
          output_tokens: 0,
          cached_input_tokens: 0,
          unpriced: 0,
        }
        let cost = 0n
        for (const row of rows) {
          for (const name of COUNTS) totals[name] += row[name]
          cost += BigInt(row.cost_nanousd)
        }
        return {
          from: from.toISOString(),
          to: to.toISOString(),
          rows: rows.map(shown),
          totals: shown({ ...totals, cost_nanousd: String(cost) }),
        }
      }).pipe(managed),
    )
  }),
)
