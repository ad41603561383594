import { useCallback, useEffect, useRef, useState } from "preact/hooks"
import type { Session } from "../api/Session.js"
import type { ProviderHealth, ProviderMetrics } from "../api/Types.js"
import { messageOf } from "../Controls.js"

/** Each provider's metrics (circuits, keys' back-off, discovery) are read again this often. */
export const METRICS_EVERY_MS = 10_000
/** The active probe (one request to the provider) runs on load, on demand, and this often. */
export const PROBE_EVERY_MS = 60_000

export type Loaded<A> =
  | { readonly _tag: "Loading" }
  | { readonly _tag: "Loaded"; readonly value: A }
  | { readonly _tag: "Failed"; readonly message: string }

type ByProvider<A> = Readonly<Record<string, Loaded<A>>>

/**
 * The live state of the listed providers: their metrics, re-read every METRICS_EVERY_MS, and the
 * active health probe, every PROBE_EVERY_MS — both paused while the page is hidden and re-read
 * when it shows again. A new answer replaces the old only when it arrives (no flicker).
 */
export const useProviderStatus = (session: Session, providerIds: ReadonlyArray<string>) => {
  const [metrics, setMetrics] = useState<ByProvider<ProviderMetrics>>({})
  const [health, setHealth] = useState<ByProvider<ProviderHealth>>({})
  const [updatedAt, setUpdatedAt] = useState<number | undefined>(undefined)
  const ids = useRef(providerIds)
  ids.current = providerIds

  const read = useCallback(
    <A>(path: string, id: string, set: (update: (all: ByProvider<A>) => ByProvider<A>) => void, fresh: boolean) => {
      if (fresh) set((all) => ({ ...all, [id]: { _tag: "Loading" } }))
      return session.request<A>("GET", `/providers/${encodeURIComponent(id)}/${path}`).then(
        (value) => set((all) => ({ ...all, [id]: { _tag: "Loaded", value } })),
        (failure) => set((all) => ({ ...all, [id]: { _tag: "Failed", message: messageOf(failure) } })),
      )
    },
    [session],
  )

  const refreshMetrics = useCallback(
    (only?: string) =>
      Promise.all(
        (only === undefined ? ids.current : [only]).map((id) =>
          read<ProviderMetrics>("metrics", id, setMetrics, false),
        ),
      ).then(() => setUpdatedAt(Date.now())),
    [read],
  )

  const probe = useCallback(
    (id: string) => read<ProviderHealth>("health", id, setHealth, true).then(() => refreshMetrics(id)),
    [read, refreshMetrics],
  )

  // A provider newly listed is probed once; the others keep their last probe until the next round.
  const probed = useRef(new Set<string>())
  const key = providerIds.join("\n")
  useEffect(() => {
    for (const id of ids.current) {
      if (probed.current.has(id)) continue
      probed.current.add(id)
      void probe(id)
    }
    void refreshMetrics()
    let sinceProbe = 0
    const tick = () => {
      if (document.hidden) return
      sinceProbe += METRICS_EVERY_MS
      if (sinceProbe >= PROBE_EVERY_MS) {
        sinceProbe = 0
        for (const id of ids.current) void probe(id)
      } else void refreshMetrics()
    }
    const timer = setInterval(tick, METRICS_EVERY_MS)
    const onVisible = () => {
      if (!document.hidden) void refreshMetrics()
    }
    document.addEventListener("visibilitychange", onVisible)
    return () => {
      clearInterval(timer)
      document.removeEventListener("visibilitychange", onVisible)
    }
  }, [key, probe, refreshMetrics])

  return { metrics, health, updatedAt, probe, refreshMetrics } as const
}
