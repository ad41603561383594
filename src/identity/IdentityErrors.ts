import { Schema } from "effect"

/** Failures of the identity services, with what a caller (the management API) needs to answer. */

export class ResourceNotFound extends Schema.TaggedError<ResourceNotFound>()("ResourceNotFound", {
  resource: Schema.String,
  id: Schema.String,
  message: Schema.String,
}) {
  static of(resource: string, id: string) {
    return new ResourceNotFound({ resource, id, message: `${resource} '${id}' not found` })
  }
}

/** The request collides with existing state (a taken name, an already initialised system). */
export class ResourceConflict extends Schema.TaggedError<ResourceConflict>()("ResourceConflict", {
  message: Schema.String,
}) {}

/** Well-formed but unacceptable input; `details` names what was wrong. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  message: Schema.String,
  details: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
}) {}
