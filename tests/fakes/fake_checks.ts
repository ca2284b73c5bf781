/**
 * Made-up checks for the tests of the dry run (`qmd rules`), small enough to
 * read at a glance, each exercising one kind of verdict:
 *  - fakelist (MAIL): control/fakelist lines are sender suffixes, refused
 *    with the file and line; NOFAKELIST turns it off;
 *  - fakebl (connect): a DNS A lookup of the reversed IP under
 *    control/fakebl's zone, refused when listed, passed when not, and
 *    refused with 451 when the answer is temporary;
 *  - fakewhite (RCPT): accepts postmaster@ anything;
 *  - fakesig (content): refuses a message that holds the text EVIL.
 */
import { refuse } from "../../appliance/filters/filter.ts";
import { PASS } from "../../appliance/filters/filter.ts";
import { type FilterModule, filterModule } from "../../appliance/policy/filter_modules.ts";
import { type ContentModule, contentModule } from "../../appliance/policy/content_modules.ts";
import { ControlError, readControlLine, readControlList } from "../../config/control.ts";

interface ListSettings {
  entries: { value: string; line: number }[];
}

export const FAKE_LIST: FilterModule = filterModule<ListSettings, ListSettings>({
  check: {
    name: "fakelist",
    phases: ["mail"],
    check(request, settings) {
      const hit = settings.entries.find((entry) => (request.sender ?? "").endsWith(entry.value));
      return hit === undefined ? PASS : refuse("553 sorry, your envelope sender is fake (#5.7.1)", {
        check: "fakelist",
        source: "control/fakelist",
        line: hit.line,
        entry: hit.value,
      });
    },
  },
  load(home) {
    const entries = readControlList(home, "fakelist") ?? [];
    const broken = entries.find((entry) => entry.value.includes(" "));
    if (broken !== undefined) {
      throw new ControlError(`${home}/control/fakelist`, broken.line, "a space in an entry");
    }
    return { entries };
  },
  settings: (controls, client) => client.env.NOFAKELIST !== undefined ? undefined : controls,
});

export const FAKE_BL: FilterModule = filterModule<string | undefined, string>({
  check: {
    name: "fakebl",
    phases: ["connect"],
    check(request, zone) {
      const name = `${request.remoteIp.split(".").reverse().join(".")}.${zone}`;
      return { kind: "lookup", lookup: { kind: "dns", name, type: "A", timeoutSeconds: 2 } };
    },
    resume(_request, zone, answer) {
      if (answer.kind === "temporary") {
        return refuse("451 fakebl lookup failed", { check: "fakebl", entry: zone });
      }
      if (answer.kind === "dns" && answer.records.length > 0) {
        return refuse(`553 listed in ${zone}`, {
          check: "fakebl",
          source: "control/fakebl",
          line: 1,
          entry: zone,
        });
      }
      return PASS;
    },
  },
  load: (home) => readControlLine(home, "fakebl")?.trim() || undefined,
  settings: (zone) => zone,
});

export const FAKE_WHITE: FilterModule = filterModule<null, null>({
  check: {
    name: "fakewhite",
    phases: ["rcpt"],
    check: (request) =>
      (request.recipient ?? "").startsWith("postmaster@")
        ? { kind: "accept", rule: { check: "fakewhite", entry: "postmaster@" } }
        : PASS,
  },
  load: () => null,
  settings: () => null,
});

export const FAKE_SIGNATURE: ContentModule = contentModule<null>({
  name: "fakesig",
  load: () => null,
  begin() {
    let text = "";
    return {
      write(chunk) {
        text += new TextDecoder().decode(chunk);
        return Promise.resolve();
      },
      finish: () =>
        Promise.resolve(
          text.includes("EVIL")
            ? refuse("554 sorry, this message looks evil", { check: "fakesig", entry: "EVIL" })
            : PASS,
        ),
      abort: () => Promise.resolve(),
    };
  },
});

export const FAKE_MODULES = {
  filters: [FAKE_BL, FAKE_LIST, FAKE_WHITE],
  content: [FAKE_SIGNATURE],
};
