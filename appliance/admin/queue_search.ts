/**
 * The queue page's search: a text matched (case-insensitively) against the
 * envelope sender and every recipient, and a state (not yet preprocessed,
 * queued, bouncing, held). Pure: the messages come from the send role's
 * `list` reply.
 */
import type { QueuedMessage } from "../queue/control_request.ts";
import { byteStringText } from "../bytes.ts";

/** The states the search offers, as the page's select names them. */
export const SEARCH_STATES = ["unprocessed", "queued", "bouncing", "held"] as const;
export type SearchState = typeof SEARCH_STATES[number];

export interface QueueSearch {
  /** A substring of the sender or a recipient; "" matches every message. */
  text: string;
  /** undefined: any state. */
  state?: SearchState;
}

/** The search a request's query asks for (`q`, `state`); an unknown state is any state. */
export function parseSearch(query: { q?: string; state?: string }): QueueSearch {
  const state = SEARCH_STATES.find((each) => each === query.state);
  return { text: (query.q ?? "").trim(), ...state && { state } };
}

function inState(message: QueuedMessage, state: SearchState | undefined): boolean {
  if (state === undefined) return true;
  if (state === "held") return message.held;
  return message.state === state;
}

/** The messages the search matches, in the order given. */
export function searchMessages(
  messages: readonly QueuedMessage[],
  search: QueueSearch,
): QueuedMessage[] {
  const text = search.text.toLowerCase();
  return messages.filter((message) =>
    inState(message, search.state) &&
    (text === "" || [message.sender, ...message.recipients.map((each) => each.address)]
      .some((address) => byteStringText(address).toLowerCase().includes(text)))
  );
}
