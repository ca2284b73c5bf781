/**
 * qmail-send's two channels (docs/queue-format.md §4.6): each one's scheduler,
 * shared by the parts of the send engine. Limits start at 0 until the
 * controls are read.
 */
import type { Channel } from "../../queue/layout.ts";
import { ChannelScheduler } from "../scheduler.ts";

/** The channels in qmail-send's order. */
export const CHANNELS: readonly Channel[] = ["local", "remote"];

/** The scheduler of each channel. */
export type Channels = Readonly<Record<Channel, ChannelScheduler>>;

/** Fresh schedulers for both channels. */
export function newChannels(): Channels {
  return {
    local: new ChannelScheduler("local", 0),
    remote: new ChannelScheduler("remote", 0),
  };
}
