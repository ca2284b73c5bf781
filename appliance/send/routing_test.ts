import { assertEquals } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import {
  buildRoutingTable,
  routeRecipient,
  type RoutingControls,
  stripVirtualDomainPrepend,
} from "./routing.ts";

const base: RoutingControls = {
  envnoathost: "mx.example.com",
  locals: ["mx.example.com", "localhost"],
  percenthack: [],
  virtualdomains: [],
};

function route(address: string, controls: Partial<RoutingControls> = {}) {
  const result = routeRecipient(address, buildRoutingTable({ ...base, ...controls }));
  return `${result.channel} ${bytesToString(result.address)}`;
}

Deno.test("locals route locally, case-insensitively, keeping case", () => {
  assertEquals(route("joe@mx.example.com"), "local joe@mx.example.com");
  assertEquals(route("Joe@MX.Example.COM"), "local Joe@MX.Example.COM");
  assertEquals(route("joe@elsewhere.org"), "remote joe@elsewhere.org");
});

Deno.test("envnoathost is appended to an address without @", () => {
  assertEquals(route("joe"), "local joe@mx.example.com");
  assertEquals(route("joe", { envnoathost: "other.org" }), "remote joe@other.org");
});

Deno.test("virtualdomains prepend + '-' + the whole address (§4.4 example)", () => {
  assertEquals(
    route("info@nowhere.mil", { virtualdomains: ["nowhere.mil:joe-foo"] }),
    "local joe-foo-info@nowhere.mil",
  );
  assertEquals(
    route("Info@NoWhere.MIL", { virtualdomains: ["nowhere.mil:joe-foo"] }),
    "local joe-foo-Info@NoWhere.MIL",
  );
});

Deno.test("virtualdomains key order: user@domain, domain, .suffixes longest first, empty", () => {
  const virtualdomains = [
    ":catchall",
    ".c:dotc",
    ".b.c:dotbc",
    "a.b.c:abc",
    "sales@a.b.c:salesuser",
  ];
  assertEquals(route("sales@a.b.c", { virtualdomains }), "local salesuser-sales@a.b.c");
  assertEquals(route("joe@a.b.c", { virtualdomains }), "local abc-joe@a.b.c");
  assertEquals(route("joe@x.b.c", { virtualdomains }), "local dotbc-joe@x.b.c");
  assertEquals(route("joe@x.y.c", { virtualdomains }), "local dotc-joe@x.y.c");
  assertEquals(route("joe@d.org", { virtualdomains }), "local catchall-joe@d.org");
});

Deno.test("an empty prepend means explicitly remote, even under a catch-all", () => {
  const virtualdomains = [":catchall", "remote.org:", "sub.remote.org:subuser"];
  assertEquals(route("joe@remote.org", { virtualdomains }), "remote joe@remote.org");
  assertEquals(route("joe@sub.remote.org", { virtualdomains }), "local subuser-joe@sub.remote.org");
  assertEquals(route("joe@x.remote.org", { virtualdomains }), "local catchall-joe@x.remote.org");
});

Deno.test("locals win over virtualdomains; lines without a colon are ignored", () => {
  const virtualdomains = ["mx.example.com:other", "nocolon", "v.org:vuser", "v.org:last"];
  assertEquals(route("joe@mx.example.com", { virtualdomains }), "local joe@mx.example.com");
  assertEquals(route("joe@nocolon", { virtualdomains }), "remote joe@nocolon");
  // Duplicate keys: the last line wins, as in qmail's constmap.
  assertEquals(route("joe@v.org", { virtualdomains }), "local last-joe@v.org");
});

Deno.test("percenthack turns the last % into @ while the domain is listed", () => {
  const percenthack = ["mx.example.com", "relay.org"];
  assertEquals(route("u%elsewhere.org@mx.example.com", { percenthack }), "remote u@elsewhere.org");
  // u%h2%h1@D -> u%h2@h1 -> u@h2 when h1 is listed too.
  assertEquals(
    route("u%final.net%relay.org@MX.example.com", { percenthack }),
    "remote u@final.net",
  );
  assertEquals(route("u%relay.org@mx.example.com", { percenthack }), "remote u@relay.org");
  assertEquals(route("u%localhost@mx.example.com", { percenthack }), "local u@localhost");
  // No % left: routing goes on with the listed domain.
  assertEquals(route("plain@mx.example.com", { percenthack }), "local plain@mx.example.com");
  // Not listed: % stays.
  assertEquals(route("u%x.org@other.org", { percenthack }), "remote u%x.org@other.org");
  // Without @, envnoathost is added first, then percenthack applies.
  assertEquals(route("u%far.org", { percenthack }), "remote u@far.org");
});

Deno.test("routing keeps arbitrary bytes and accepts Uint8Array", () => {
  const table = buildRoutingTable({ ...base, virtualdomains: ["caf\u00e9.org:cafe"] });
  const result = routeRecipient(stringToBytes("a\xff@caf\xc3\xa9.org"), table);
  assertEquals(result.channel, "local");
  assertEquals(bytesToString(result.address), "cafe-a\xff@caf\xc3\xa9.org");
});

Deno.test("stripVirtualDomainPrepend removes the prefix added by virtualdomains", () => {
  const table = buildRoutingTable({
    ...base,
    virtualdomains: ["nowhere.mil:joe-foo", ".sub.org:subber", "plain.org:", "u@user.org:uu"],
  });
  assertEquals(stripVirtualDomainPrepend("joe-foo-info@nowhere.mil", table), "info@nowhere.mil");
  assertEquals(stripVirtualDomainPrepend("joe-foo-info@NOWHERE.mil", table), "info@NOWHERE.mil");
  assertEquals(stripVirtualDomainPrepend("subber-x@a.sub.org", table), "x@a.sub.org");
  assertEquals(
    stripVirtualDomainPrepend("other-info@nowhere.mil", table),
    "other-info@nowhere.mil",
  );
  assertEquals(stripVirtualDomainPrepend("x@plain.org", table), "x@plain.org");
  // user@domain keys are not consulted by stripvdomprepend.
  assertEquals(stripVirtualDomainPrepend("uu-u@user.org", table), "uu-u@user.org");
  assertEquals(stripVirtualDomainPrepend("noat", table), "noat");
});
