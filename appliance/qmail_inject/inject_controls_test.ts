import { assertEquals } from "../../tests/assert.ts";
import { resolveInjectControls } from "./inject_controls.ts";

Deno.test("inject: controls default to me, then to their own names; env overrides", () => {
  assertEquals(resolveInjectControls({ me: "m.example.com", idhost: "i" }, {}), {
    defaultdomain: "m.example.com",
    defaulthost: "m.example.com",
    plusdomain: "m.example.com",
    idhost: "i",
  });
  assertEquals(resolveInjectControls({}, { QMAILDEFAULTHOST: "h" }), {
    defaultdomain: "defaultdomain",
    defaulthost: "h",
    plusdomain: "plusdomain",
    idhost: "idhost",
  });
});
