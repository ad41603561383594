import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { sequentialIds } from "../../../src/protocol/Ids.js"
import {
  itemPage,
  makeFrameWatch,
  newInputItems,
  readItemListQuery,
  readTurnFields,
  rebuiltInput,
  statelessBody,
} from "../../../src/protocol/openai-responses/Stored.js"
import { sseJson } from "../../../src/protocol/Sse.js"

const left = <A, E>(e: Either.Either<A, E>): E => {
  if (Either.isRight(e)) throw new Error("expected a Left")
  return e.left
}

describe("stateful Responses, the pure part", () => {
  it("store defaults to true; previous_response_id must be an id; what only a provider's store serves is named", () => {
    expect(readTurnFields({ model: "m" })).toEqual(
      Either.right({ store: true, previousResponseId: undefined, nativeOnly: [] }),
    )
    expect(readTurnFields({ store: false, previous_response_id: "resp_1" })).toEqual(
      Either.right({ store: false, previousResponseId: "resp_1", nativeOnly: [] }),
    )
    expect(left(readTurnFields({ store: "yes" })).param).toBe("store")
    expect(left(readTurnFields({ previous_response_id: "../x" })).param).toBe("previous_response_id")
    expect(left(readTurnFields({ previous_response_id: 7 })).param).toBe("previous_response_id")
    const fields = readTurnFields({
      background: true,
      conversation: "conv_1",
      prompt: { id: "pmpt_1" },
      input: [{ type: "item_reference", id: "msg_1" }],
    })
    expect(Either.getOrThrow(fields).nativeOnly).toEqual(["background", "conversation"])
    expect(Either.getOrThrow(readTurnFields({ background: false, conversation: null })).nativeOnly).toEqual([])
  })

  it("input items are stored typed, with parts and ids; the follow-up input is history, previous output, then the new items", () => {
    const ids = sequentialIds()
    expect(newInputItems({ input: "hi" }, ids)).toEqual([
      { id: "msg_0001", type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] },
    ])
    const items = newInputItems(
      {
        input: [
          { role: "assistant", content: "earlier" },
          { type: "function_call_output", call_id: "call_1", output: "22C" },
          { id: "msg_own", type: "message", role: "user", content: [{ type: "input_text", text: "x" }] },
          "not an item",
        ],
      },
      ids,
    )
    expect(items).toEqual([
      { id: "msg_0002", type: "message", role: "assistant", content: [{ type: "output_text", text: "earlier" }] },
      { id: "fco_0003", type: "function_call_output", call_id: "call_1", output: "22C" },
      { id: "msg_own", type: "message", role: "user", content: [{ type: "input_text", text: "x" }] },
      "not an item",
    ])
    expect(rebuiltInput(["h"], ["o"], ["n"])).toEqual(["h", "o", "n"])
  })

  it("a provider asked without its store gets the whole input, no ids but reasoning's, no previous_response_id, store false", () => {
    const body = statelessBody(
      { model: "m", previous_response_id: "resp_1", store: true, instructions: "be brief", input: "ignored" },
      [
        { id: "msg_1", type: "message", role: "user", content: [] },
        { id: "rs_1", type: "reasoning", summary: [], encrypted_content: "enc" },
        { id: "fc_1", type: "function_call", call_id: "call_1", name: "f", arguments: "{}" },
      ],
    )
    expect(body).toEqual({
      model: "m",
      instructions: "be brief",
      input: [
        { type: "message", role: "user", content: [] },
        { id: "rs_1", type: "reasoning", summary: [], encrypted_content: "enc" },
        { type: "function_call", call_id: "call_1", name: "f", arguments: "{}" },
      ],
      store: false,
    })
  })

  it("a stream's response objects get the gateway's id and state fields; deltas pass untouched; the final object is kept", () => {
    const watch = makeFrameWatch({ id: "resp_gw", previousResponseId: "resp_prev", store: true })
    const created = sseJson(
      {
        type: "response.created",
        sequence_number: 0,
        response: { id: "resp_up", status: "in_progress", store: false, output: [] },
      },
      "response.created",
    )
    const delta = sseJson(
      { type: "response.output_text.delta", sequence_number: 1, item_id: "msg_1", delta: '"response": {' },
      "response.output_text.delta",
    )
    const completed = sseJson(
      {
        type: "response.completed",
        sequence_number: 2,
        response: { id: "resp_up", status: "completed", store: false, output: [{ id: "msg_1", type: "message" }] },
      },
      "response.completed",
    )
    expect(watch.rewrite(delta)).toBe(delta)
    const out = watch.rewrite(created + delta + completed)
    const frames = out.split(/(?<=\n\n)/)
    expect(frames).toHaveLength(3)
    expect(frames[1]).toBe(delta)
    expect(frames[0]!.startsWith("event: response.created\ndata: ")).toBe(true)
    expect(JSON.parse(frames[0]!.split("data: ")[1]!).response).toMatchObject({
      id: "resp_gw",
      previous_response_id: "resp_prev",
      store: true,
    })
    expect(watch.firstId()).toBe("resp_up")
    expect(watch.final()).toMatchObject({ id: "resp_gw", status: "completed", output: [{ id: "msg_1" }] })

    // Without a patch (a provider's own store) frames are only observed.
    const observe = makeFrameWatch(undefined)
    expect(observe.rewrite(created + completed)).toBe(created + completed)
    expect(observe.firstId()).toBe("resp_up")
    expect(observe.final()).toMatchObject({ id: "resp_up" })
  })

  it("input items are listed in OpenAI's list shape: desc by default, limit and after paginate", () => {
    const items = ["a", "b", "c", "d"].map((id) => ({ id, type: "message" }))
    const query = (q: string) => Either.getOrThrow(readItemListQuery(new URLSearchParams(q)))
    expect(itemPage(items, query(""))).toEqual({
      object: "list",
      data: [...items].reverse(),
      first_id: "d",
      last_id: "a",
      has_more: false,
    })
    expect(itemPage(items, query("order=asc&limit=2"))).toEqual({
      object: "list",
      data: items.slice(0, 2),
      first_id: "a",
      last_id: "b",
      has_more: true,
    })
    expect(itemPage(items, query("order=asc&limit=2&after=b"))).toMatchObject({ data: items.slice(2), has_more: false })
    expect(itemPage(items, query("after=zz"))).toEqual({
      object: "list",
      data: [],
      first_id: null,
      last_id: null,
      has_more: false,
    })
    for (const bad of ["limit=0", "limit=101", "limit=x", "order=up", "after=../x"])
      expect(Either.isLeft(readItemListQuery(new URLSearchParams(bad)))).toBe(true)
  })
})
