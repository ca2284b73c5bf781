/**
 * The send engine's side of hold (queue/held.ts): the held message numbers,
 * read from hold/ at start and changed only through the engine's queue
 * requests, and the channel jobs that came due while their message was held
 * ("parked": out of the channel's queue until the release). A held message
 * gets no delivery attempt, so it cannot be bounced for its age while held
 * either; its birth stays its birth (§4.6), so after the release its first
 * temporary failure bounces it if it is older than queuelifetime.
 */
import type { Channel, QueueLayout } from "../../queue/layout.ts";
import { isHeld, listHeld } from "../../queue/held.ts";

export class HeldMessages {
  #layout: QueueLayout | undefined;
  #held = new Set<bigint>();
  #parked = new Map<bigint, Set<Channel>>();

  /** Reads hold/ (engine start). */
  load(layout: QueueLayout): void {
    this.#layout = layout;
    for (const id of listHeld(layout)) this.#held.add(id);
  }

  has(id: bigint): boolean {
    return this.#held.has(id);
  }

  hold(id: bigint): void {
    this.#held.add(id);
  }

  /**
   * A channel job of `id` came due: parks it when the message is held
   * (true), else false. The marker is looked at again: a message that left
   * the queue took hold/ID with it (transitions.ts finishMessage), and its
   * number may come back with a new message.
   */
  park(channel: Channel, id: bigint): boolean {
    if (!this.#held.has(id)) return false;
    if (this.#layout !== undefined && !isHeld(this.#layout, id)) {
      this.release(id);
      return false;
    }
    const channels = this.#parked.get(id) ?? new Set<Channel>();
    channels.add(channel);
    this.#parked.set(id, channels);
    return true;
  }

  /** Whether a channel job of `id` is parked. */
  parked(id: bigint, channel: Channel): boolean {
    return this.#parked.get(id)?.has(channel) ?? false;
  }

  /** Ends the hold; returns the channels whose jobs were parked (they go back to their queues). */
  release(id: bigint): Channel[] {
    this.#held.delete(id);
    const channels = [...this.#parked.get(id) ?? []];
    this.#parked.delete(id);
    return channels;
  }

  /** Every parked job, removed (drain: they are saved with the rest of the schedule). */
  takeParked(): { id: bigint; channel: Channel }[] {
    const jobs = [...this.#parked].flatMap(([id, channels]) =>
      [...channels].map((channel) => ({ id, channel }))
    );
    this.#parked.clear();
    return jobs;
  }
}
