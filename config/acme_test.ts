import { assertEquals, assertThrows } from "../tests/assert.ts";
import {
  ACME_DEFAULT_DIRECTORY,
  ACME_DEFAULT_HTTP,
  ACME_DEFAULT_RENEW_DAYS,
  loadAcmeControls,
} from "./acme.ts";
import { ControlError } from "./control.ts";
import { withControlFiles } from "./test_home.ts";

Deno.test("acme controls: absent is off", async () => {
  await withControlFiles({ me: "mx.example.test\n" }, (home) => {
    assertEquals(loadAcmeControls(home), undefined);
  });
});

Deno.test("acme controls: an empty file takes every default, the name from control/me", async () => {
  await withControlFiles({ me: "MX.Example.Test\n", acme: "# on\n" }, (home) => {
    assertEquals(loadAcmeControls(home), {
      directory: ACME_DEFAULT_DIRECTORY,
      contacts: [],
      names: ["mx.example.test"],
      http: { ...ACME_DEFAULT_HTTP },
      renewDays: ACME_DEFAULT_RENEW_DAYS,
    });
  });
});

Deno.test("acme controls: every keyword", async () => {
  const text = [
    "# the test CA",
    "directory https://127.0.0.1:14000/dir",
    "contact mailto:postmaster@example.test",
    "contact hostmaster@example.test",
    "name mail.example.test",
    "name smtp.example.test.",
    "name mail.example.test",
    "",
    "http [::1]:8080",
    "ca /etc/ssl/test-ca.pem",
    "renew 20",
  ].join("\n");
  await withControlFiles({ me: "mx.example.test\n", acme: text }, (home) => {
    assertEquals(loadAcmeControls(home), {
      directory: "https://127.0.0.1:14000/dir",
      contacts: ["mailto:postmaster@example.test", "mailto:hostmaster@example.test"],
      names: ["mail.example.test", "smtp.example.test"],
      http: { host: "::1", port: 8080 },
      caFile: "/etc/ssl/test-ca.pem",
      renewDays: 20,
    });
  });
});

Deno.test("acme controls: a broken line is reported with its file and line", async () => {
  const cases: [string, RegExp][] = [
    ["directory http://ca.example.test/dir", /line 2: expected an https:\/\/ URL/],
    ["contact postmaster", /line 2: expected mailto:address or an address/],
    ["contact mailto:a@b", /line 2: expected mailto:address or an address/],
    ["name *.example.test", /line 2: not a host name/],
    ["http 0.0.0.0:99999", /line 2: expected ip:port/],
    ["http localhost:80", /line 2: expected ip:port/],
    ["ca relative.pem", /line 2: expected an absolute path/],
    ["renew 0", /line 2: expected 1 to 90 days/],
    ["renew 91", /line 2: expected 1 to 90 days/],
    ["directory", /line 2: expected "keyword value"/],
    ["server https://x.test", /line 2: unknown keyword "server"/],
    ["name a.test b.test", /line 2: expected "keyword value"/],
    ["http 127.0.0.1:80\nhttp 127.0.0.1:81", /line 3: http given twice/],
  ];
  for (const [line, message] of cases) {
    await withControlFiles({ me: "mx.example.test\n", acme: `# acme\n${line}\n` }, (home) => {
      const error = assertThrows(() => loadAcmeControls(home), ControlError);
      assertEquals(error.file, `${home}/control/acme`, line);
      assertEquals(message.test(error.message), true, `${line}: ${error.message}`);
      assertEquals(error.message.startsWith(`${home}/control/acme line `), true, error.message);
    });
  }
});

Deno.test("acme controls: http to a loopback directory is allowed (a test CA)", async () => {
  await withControlFiles({ acme: "directory http://127.0.0.1:4001/dir\nname a.example.test\n" }, (
    home,
  ) => {
    assertEquals(loadAcmeControls(home)?.directory, "http://127.0.0.1:4001/dir");
  });
});

Deno.test("acme controls: no name and no usable control/me is an error", async () => {
  await withControlFiles({ acme: "contact mailto:a@example.test\n" }, (home) => {
    const error = assertThrows(() => loadAcmeControls(home), ControlError);
    assertEquals(
      error.message,
      `${home}/control/acme: no name line, and control/me is no host name to default to`,
    );
  });
});
