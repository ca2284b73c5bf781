import { assertEquals, assertThrows } from "../tests/assert.ts";
import { withControlFiles } from "./test_home.ts";
import { ControlError } from "./control.ts";
import {
  findLocalBind,
  findRoute,
  loadRemoteControls,
  type RemoteControls,
  routeKeys,
} from "./remote.ts";

function withHome(files: Record<string, string>, body: (home: string) => void): Promise<void> {
  return withControlFiles(files, body, "qmd-remote-controls-");
}

Deno.test("loadRemoteControls: qmail's defaults (§5.8, §9)", async () => {
  await withHome({}, (home) => {
    assertEquals(loadRemoteControls(home), {
      helohost: null,
      smtprelays: [],
      smtproutes: [],
      qmtproutes: [],
      timeoutConnect: 60,
      timeoutRemote: 1200,
      outgoingIp: null,
      senderIp: [],
      bindRoutes: [],
      moreIpMe: [],
      notIpMe: [],
      tlsRemote: false,
      secAuthRemote: false,
      straightFallback: false,
      extraRemote: false,
      tlsClientCiphers: null,
      signKey: null,
      signKeyStale: 7,
      noSignHosts: [],
      noSignMyDoms: [],
      logSession: false,
      qmtpc: false,
      qmtpcPort: 209,
    });
  });
  await withHome({ me: "me.example\n" }, (home) => {
    assertEquals(loadRemoteControls(home).helohost, "me.example");
  });
  await withHome({ me: "me.example\n", helohost: "helo.example\n" }, (home) => {
    assertEquals(loadRemoteControls(home).helohost, "helo.example");
  });
});

Deno.test("loadRemoteControls: every file parsed", async () => {
  await withHome({
    smtproutes: "# comment\nInternal.Example.com:external.example.com:26 username pass word\n" +
      ".example.org:relay.example.org\nlocal.example:\n:smart.example\n[10.0.0.1]:[10.0.0.2]:2525\n",
    smtprelays: "user@domain:smtp.example.com|username|password|\n" +
      "domain2:smtp2.example.com|u|p|cram-md5\ndomain4:relay4\n:default-relay:587|user|pass|\n",
    qmtproutes: "q.example:qmtp.example\nq2.example:qmtp2.example:2090\n",
    timeoutconnect: "5\n",
    timeoutremote: "30\n",
    outgoingip: "0.0.0.0\n",
    senderip: "Sender.Example:192.0.2.1\n",
    bindroutes: "10.:1.2.3.4\n10.10.10.10:1.2.3.5\n1.2.3.4:\n:1.2.3.6\n",
    moreipme: "192.0.2.9\n10.0.0.0/255.0.0.0\n",
    notipme: "127.0.0.2\n",
    tlsremote: "\n",
    secauthremote: "1\n",
    straightfallback: "0\n",
    extraremote: "1\n",
    tlsclientciphers: "HIGH:!aNULL\n",
    signkey: "s3cret\n",
    signkeystale: "3\n",
    nosignhosts: "Lists.Example\n",
    nosignmydoms: "mine.example\n",
  }, (home) => {
    const controls = loadRemoteControls(home);
    assertEquals(controls.smtproutes, [
      {
        key: "internal.example.com",
        relay: "external.example.com",
        port: 26,
        auth: { user: "username", password: "pass word" },
        line: 2,
      },
      { key: ".example.org", relay: "relay.example.org", port: 25, line: 3 },
      { key: "local.example", relay: "", port: 25, line: 4 },
      { key: "", relay: "smart.example", port: 25, line: 5 },
      { key: "[10.0.0.1]", relay: "[10.0.0.2]", port: 2525, line: 6 },
    ]);
    assertEquals(controls.smtprelays, [
      {
        key: "user@domain",
        relay: "smtp.example.com",
        port: 25,
        auth: { user: "username", password: "password" },
        line: 1,
      },
      {
        key: "domain2",
        relay: "smtp2.example.com",
        port: 25,
        auth: { user: "u", password: "p", mechanism: "CRAM-MD5" },
        line: 2,
      },
      { key: "domain4", relay: "relay4", port: 25, line: 3 },
      {
        key: "",
        relay: "default-relay",
        port: 587,
        auth: { user: "user", password: "pass" },
        line: 4,
      },
    ]);
    assertEquals(controls.qmtproutes, [
      { key: "q.example", relay: "qmtp.example", port: 209, line: 1 },
      { key: "q2.example", relay: "qmtp2.example", port: 2090, line: 2 },
    ]);
    assertEquals(controls.timeoutConnect, 5);
    assertEquals(controls.timeoutRemote, 30);
    assertEquals(controls.outgoingIp, null);
    assertEquals(controls.senderIp, [{ domain: "sender.example", ip: "192.0.2.1", line: 1 }]);
    assertEquals(controls.bindRoutes.length, 4);
    assertEquals(controls.moreIpMe, [
      { address: "192.0.2.9", prefixLength: 32 },
      { address: "10.0.0.0", prefixLength: 8 },
    ]);
    assertEquals(controls.notIpMe, [{ address: "127.0.0.2", prefixLength: 32 }]);
    assertEquals(
      [controls.tlsRemote, controls.secAuthRemote, controls.straightFallback, controls.extraRemote],
      [true, true, false, true],
    );
    assertEquals(controls.tlsClientCiphers, "HIGH:!aNULL");
    assertEquals(controls.signKey, "s3cret");
    assertEquals(controls.signKeyStale, 3);
    assertEquals(controls.noSignHosts, ["lists.example"]);
    assertEquals(controls.noSignMyDoms, ["mine.example"]);
  });
});

Deno.test("loadRemoteControls: bad lines name the file and line", async () => {
  const cases: Record<string, string> = {
    smtproutes: "ok.example:relay\nbad.example:relay:99999\n",
    smtprelays: "x:relay|user|pass\n",
    moreipme: "1.2.3.4/255.0.255.0\n",
    notipme: "300.1.1.1\n",
    senderip: "nodomain\n",
    bindroutes: "10.:not-an-ip\n",
    timeoutremote: "soon\n",
  };
  for (const [name, text] of Object.entries(cases)) {
    await withHome({ [name]: text }, (home) => {
      const error = assertThrows(() => loadRemoteControls(home), ControlError);
      assertEquals(error.file, `${home}/control/${name}`);
    });
  }
});

function controls(files: Partial<RemoteControls>): RemoteControls {
  return {
    helohost: "me.example",
    smtprelays: [],
    smtproutes: [],
    qmtproutes: [],
    timeoutConnect: 60,
    timeoutRemote: 1200,
    outgoingIp: null,
    senderIp: [],
    bindRoutes: [],
    moreIpMe: [],
    notIpMe: [],
    tlsRemote: false,
    secAuthRemote: false,
    straightFallback: false,
    extraRemote: false,
    tlsClientCiphers: null,
    signKey: null,
    signKeyStale: 7,
    noSignHosts: [],
    noSignMyDoms: [],
    logSession: false,
    qmtpc: false,
    qmtpcPort: 209,
    ...files,
  };
}

Deno.test("routeKeys: host, suffixes longest first, empty (§5.8.1)", () => {
  assertEquals(routeKeys("A.B.Example"), ["a.b.example", ".b.example", ".example", ""]);
});

Deno.test("findRoute: smtprelays, then smtproutes, then qmtproutes; virtual relays", async () => {
  await withHome({
    smtprelays: "user@domain:smtp.example.com|username|password|\n" +
      "domain4:relay4\ndomain2:smtp2.example.com|u|p|login\n",
    smtproutes: "relay4:mx4.example.com:2525\n.example.org:relay.example.org\n" +
      "mx.example.org:\nauth.example:smart:587 joe pw\n",
    qmtproutes: "q.example:qmtp.example\nexample.org:never\n",
  }, (home) => {
    const c = loadRemoteControls(home);
    assertEquals(findRoute(c, "domain4"), {
      kind: "smtp",
      relay: "mx4.example.com",
      port: 2525,
      source: "smtprelays",
    });
    assertEquals(findRoute(c, "DOMAIN2"), {
      kind: "smtp",
      relay: "smtp2.example.com",
      port: 25,
      auth: { user: "u", password: "p", mechanism: "LOGIN" },
      source: "smtprelays",
    });
    assertEquals(findRoute(c, "elsewhere.example", "User@Domain"), {
      kind: "smtp",
      relay: "smtp.example.com",
      port: 25,
      auth: { user: "username", password: "password" },
      source: "smtprelays",
    });
    assertEquals(findRoute(c, "a.example.org").relay, "relay.example.org");
    // An empty relay means MX as usual, and stops the suffix search.
    assertEquals(findRoute(c, "mx.example.org"), { kind: "smtp", port: 25, source: "smtproutes" });
    assertEquals(findRoute(c, "auth.example").auth, { user: "joe", password: "pw" });
    assertEquals(findRoute(c, "q.example"), {
      kind: "qmtp",
      relay: "qmtp.example",
      port: 209,
      source: "qmtproutes",
    });
    assertEquals(findRoute(c, "nowhere.example"), { kind: "smtp", port: 25, source: "none" });
  });
});

Deno.test("findLocalBind: senderip over bindroutes over outgoingip (seed 001)", () => {
  const c = controls({
    outgoingIp: "192.0.2.100",
    senderIp: [{ domain: "special.example", ip: "192.0.2.50", line: 1 }],
    bindRoutes: [
      { prefix: "10.", ip: "1.2.3.4", line: 1 },
      { prefix: "10.10.", ip: "1.2.3.5", line: 2 },
      { prefix: "10.10.10.10", ip: "1.2.3.6", line: 3 },
      { prefix: "1.2.3.4", ip: "", line: 4 },
    ],
  });
  assertEquals(findLocalBind(c, "a@Special.Example", "10.10.10.10"), {
    kind: "bind",
    ip: "192.0.2.50",
    source: "senderip",
  });
  assertEquals(findLocalBind(c, "a@x", "10.10.10.10"), {
    kind: "bind",
    ip: "1.2.3.6",
    source: "bindroutes",
  });
  assertEquals(findLocalBind(c, "a@x", "10.10.9.1"), {
    kind: "bind",
    ip: "1.2.3.5",
    source: "bindroutes",
  });
  assertEquals(findLocalBind(c, "a@x", "10.1.1.1"), {
    kind: "bind",
    ip: "1.2.3.4",
    source: "bindroutes",
  });
  assertEquals(findLocalBind(c, "a@x", "1.2.3.4"), { kind: "refuse" });
  assertEquals(findLocalBind(c, "", "192.0.2.1"), {
    kind: "bind",
    ip: "192.0.2.100",
    source: "outgoingip",
  });
  assertEquals(findLocalBind(controls({}), "a@x", "192.0.2.1"), { kind: "default" });
  const rest = controls({ bindRoutes: [{ prefix: "", ip: "1.2.3.9", line: 1 }] });
  assertEquals(findLocalBind(rest, "a@x", "8.8.8.8"), {
    kind: "bind",
    ip: "1.2.3.9",
    source: "bindroutes",
  });
});
