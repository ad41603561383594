import * as fs from "node:fs"
import * as path from "node:path"
import { Duration, Effect, Schema, Stream } from "effect"

/**
 * Changes of the providers file (GATEWAY_CONFIG) on disk, as a stream of "look again" ticks.
 *
 * The file's directory is watched, not the file: an editor's atomic save writes a new file and
 * renames it over the old one (a new inode that a watch on the old one never sees), and a file
 * deleted and written again is a new inode too. Every event naming the file (or naming nothing,
 * which some platforms do) is a tick; a burst of them (an editor's save, a `cp`) is debounced
 * into one. The stream also ticks once as soon as it watches, so whatever happened before is
 * looked at. The watch ends with the stream's scope.
 */

export class GatewayFileWatchError extends Schema.TaggedError<GatewayFileWatchError>()("GatewayFileWatchError", {
  message: Schema.String,
}) {}

/** How long the file must be quiet after an event before it is read: one save, one reload. */
export const WATCH_DEBOUNCE = Duration.millis(300)

const directoryEvents = (file: string): Stream.Stream<void, GatewayFileWatchError> => {
  const directory = path.dirname(path.resolve(file))
  const name = path.basename(file)
  return Stream.asyncScoped<void, GatewayFileWatchError>((emit) =>
    Effect.acquireRelease(
      Effect.try({
        try: () => {
          const watcher = fs.watch(directory, { persistent: false }, (_event, changed) => {
            if (changed === null || changed === name) void emit.single(undefined)
          })
          watcher.on(
            "error",
            (error) =>
              void emit.fail(new GatewayFileWatchError({ message: `watching ${directory} failed: ${error.message}` })),
          )
          // Once watching: whatever happened before is looked at too.
          void emit.single(undefined)
          return watcher
        },
        catch: (error) =>
          new GatewayFileWatchError({ message: `cannot watch ${directory}: ${(error as Error).message}` }),
      }),
      (watcher) => Effect.sync(() => watcher.close()),
    ),
  )
}

/** A tick once watching, then one per quiet burst of changes to `file`. Fails when the watch does (its directory removed). */
export const gatewayFileChanges = (file: string): Stream.Stream<void, GatewayFileWatchError> =>
  directoryEvents(file).pipe(Stream.debounce(WATCH_DEBOUNCE))
