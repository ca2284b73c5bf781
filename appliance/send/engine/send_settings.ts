/**
 * qmail-send's controls as the engine holds them (docs/queue-format.md §9): read
 * once at start, with the routing lists compiled into their lookup tables,
 * and partly re-read on SIGHUP (§4.7).
 */
import { controlErrorMessages, loadAllControls } from "../../../config/control.ts";
import {
  readSendConcurrency,
  readSendControls,
  readSendLocals,
  type SendControls,
} from "../../../config/send.ts";
import { buildRoutingTable, type RoutingTable } from "../routing.ts";
import { SendStartError } from "./start_error.ts";

/** The controls of one send engine and the routing table built from them. */
export class SendSettings {
  #home: string;
  #controls!: SendControls;
  #routing!: RoutingTable;

  constructor(home: string) {
    this.#home = home;
  }

  /** The controls; read by load(). */
  get controls(): SendControls {
    return this.#controls;
  }

  /** The routing table built from the controls' routing lists (§4.4). */
  get routing(): RoutingTable {
    return this.#routing;
  }

  /** Reads every control at start. Throws SendStartError with qmail's alert wording. */
  load(): void {
    try {
      this.#controls = readSendControls(this.#home);
    } catch (error) {
      throw new SendStartError(
        `cannot start: unable to read controls: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.#routing = buildRoutingTable(this.#controls.routing);
  }

  /**
   * SIGHUP: re-reads locals and virtualdomains, as qmail does, and the
   * concurrency limits. A file that cannot be read keeps the old values;
   * returns each broken file's error for the caller to report.
   */
  reload(): string[] {
    const errors: string[] = [];
    try {
      const routing = {
        ...this.#controls.routing,
        ...loadAllControls(() => readSendLocals(this.#home)),
      };
      this.#routing = buildRoutingTable(routing);
      this.#controls = { ...this.#controls, routing };
    } catch (error) {
      errors.push(...controlErrorMessages(error));
    }
    try {
      const concurrency = loadAllControls(() => readSendConcurrency(this.#home));
      this.#controls = { ...this.#controls, ...concurrency };
    } catch (error) {
      errors.push(...controlErrorMessages(error));
    }
    return errors;
  }
}
