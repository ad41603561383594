import { Effect } from "effect"

/**
 * Whether this instance is draining: told to stop (SIGTERM) and still serving during
 * `SHUTDOWN_DRAIN`, so a load balancer sees `/health` fail and moves new requests elsewhere
 * before the listener closes (http/NodeServer.ts). Every answer sent meanwhile closes its
 * connection, so none is reused after the drain.
 */
export class Draining extends Effect.Service<Draining>()("Draining", {
  sync: () => {
    let draining = false
    return {
      isDraining: (): boolean => draining,
      begin: (): void => {
        draining = true
      },
    }
  },
}) {}
