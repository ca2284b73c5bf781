import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { formatBanner } from "./start_banner.ts";

const listeners = [
  { host: "127.0.0.1", port: 2525, kind: "smtp" as const },
  { host: "::1", port: 2465, kind: "smtps" as const },
];

Deno.test("banner: without a usable certificate it says STARTTLS is off and why, once", () => {
  const text = formatBanner({
    home: "/srv/qmd",
    listeners,
    fresh: false,
    json: false,
    command: "qmd",
    tls: {
      certificate: { kind: "none" },
      problems: [
        "/srv/qmd/control/servercert.pem: no private key; STARTTLS is off until it is fixed",
      ],
    },
  });
  const line = (name: string) => text.split("\n").find((each) => each.startsWith(`  ${name}:`));
  assertEquals(
    line("tls"),
    "  tls:      STARTTLS off: /srv/qmd/control/servercert.pem: no private key",
  );
  assertEquals(line("smtps"), "  smtps:    [::1]:2465   (no certificate: connections are closed)");
  assertEquals(line("pop3s"), "  pop3s:    off");
  assertEquals(line("submission"), "  submission: off");
  assertEquals(line("pop3"), "  pop3:     off");
  assertStringIncludes(text, "| qmd user add you@example.test --password-stdin --home /srv/qmd\n");
});

Deno.test("banner: a CA-signed certificate is named with its issuer, never called self-signed", () => {
  const text = formatBanner({
    home: "/srv/my qmd",
    listeners,
    fresh: true,
    json: true,
    command: "qmd",
    tls: {
      certificate: {
        kind: "issued",
        commonName: "mail.example.com",
        issuer: "R11",
        expires: new Date("2030-01-02T00:00:00Z"),
      },
      problems: [],
    },
  });
  assert(!text.includes("self-signed"));
  assertStringIncludes(
    text,
    "  tls:      /srv/my qmd/control/servercert.pem (mail.example.com, issued by R11, expires 2030-01-02)",
  );
  assertStringIncludes(text, "--home '/srv/my qmd'");
  assertStringIncludes(text, "(this banner is on stderr)");
});

Deno.test("banner: what qmd init noted about the home is shown", () => {
  const note = 'control/me is localhost because this host\'s name "vm" has no dot; name the host ' +
    "with qmd init --home /srv/qmd --me HOST";
  const text = formatBanner({
    home: "/srv/qmd",
    listeners,
    fresh: true,
    json: false,
    command: "qmd",
    notes: [note],
    tls: { certificate: { kind: "none" }, problems: [] },
  });
  assertStringIncludes(text, `  note:     ${note}\n`);
});

Deno.test("banner: a listener that is off gets no TLS or AUTH note; one that is on does", () => {
  const facts = (certificate: "none" | "self-signed") => ({
    home: "/srv/qmd",
    fresh: false,
    json: false,
    command: "qmd",
    tls: {
      certificate: certificate === "none" ? { kind: "none" as const } : {
        kind: "self-signed" as const,
        commonName: "localhost",
        issuer: "localhost",
        expires: new Date("2030-01-02T00:00:00Z"),
      },
      problems: [],
    },
  });
  const line = (text: string, name: string) =>
    text.split("\n").find((each) => each.startsWith(`  ${name}:`));
  for (const certificate of ["none", "self-signed"] as const) {
    const off = formatBanner({ ...facts(certificate), listeners });
    assertEquals(line(off, "submission"), "  submission: off", certificate);
    assertEquals(line(off, "pop3"), "  pop3:     off", certificate);
  }
  const on = [
    { host: "127.0.0.1", port: 2587, kind: "submission" as const },
    { host: "127.0.0.1", port: 2110, kind: "pop3" as const },
  ];
  const withTls = formatBanner({ ...facts("self-signed"), listeners: on });
  assertEquals(
    line(withTls, "submission"),
    "  submission: 127.0.0.1:2587   (AUTH required; STARTTLS offered)",
  );
  assertEquals(line(withTls, "pop3"), "  pop3:     127.0.0.1:2110   (STLS offered)");
  const without = formatBanner({ ...facts("none"), listeners: on });
  assertEquals(
    line(without, "submission"),
    "  submission: 127.0.0.1:2587   (AUTH required; no STARTTLS: no certificate)",
  );
  assertEquals(line(without, "pop3"), "  pop3:     127.0.0.1:2110   (no STLS: no certificate)");
});

Deno.test("banner: the login hint names only listeners that are on", () => {
  const base = {
    home: "/srv/qmd",
    fresh: false,
    json: false,
    command: "qmd",
    tls: { certificate: { kind: "none" as const }, problems: [] },
  };
  const smtpOnly = formatBanner({
    ...base,
    listeners: [{ host: "127.0.0.1", port: 2525, kind: "smtp" as const }],
  });
  assert(!smtpOnly.includes("Log in ("), smtpOnly);
  const all = formatBanner({
    ...base,
    listeners: [
      { host: "127.0.0.1", port: 2587, kind: "submission" as const },
      { host: "127.0.0.1", port: 2110, kind: "pop3" as const },
      { host: "127.0.0.1", port: 2995, kind: "pop3s" as const },
    ],
  });
  assertStringIncludes(
    all,
    "Log in (SMTP AUTH on the submission port, POP3 with STLS or POP3S): you@example.test",
  );
});

Deno.test("banner: the admin console's URL, and a password made by this start shown once", () => {
  const tls = { certificate: { kind: "none" as const }, problems: [] };
  const base = { home: "/srv/qmd", listeners, fresh: true, json: false, command: "qmd", tls };
  const line = (text: string, name: string) =>
    text.split("\n").find((each) => each.startsWith(`  ${name}:`));
  const on = formatBanner({
    ...base,
    admin: { host: "127.0.0.1", port: 8025 },
    adminPassword: "s3cret-Pass",
  });
  assertEquals(
    line(on, "admin"),
    "  admin:    http://127.0.0.1:8025/   (console, JSON API, /metrics)",
  );
  assertEquals(
    line(on, "admin password"),
    "  admin password: s3cret-Pass   (shown once; change it with qmd admin passwd)",
  );
  const https = formatBanner({ ...base, admin: { host: "::1", port: 8443, tls: true } });
  assertEquals(
    line(https, "admin"),
    "  admin:    https://[::1]:8443/   (console, JSON API, /metrics)",
  );
  const off = formatBanner(base);
  assertEquals(line(off, "admin"), "  admin:    off");
  assert(!off.includes("admin password"));
});

Deno.test("banner: with control/acme the self-signed certificate waits for ACME, and says so", async () => {
  const home = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(`${home}/control`);
    const facts = {
      home,
      listeners,
      fresh: false,
      json: false,
      command: "qmd",
      tls: {
        certificate: {
          kind: "self-signed" as const,
          commonName: "localhost",
          expires: new Date("2036-01-01T00:00:00Z"),
        },
        problems: [],
      },
    };
    assertStringIncludes(formatBanner(facts), ", until you replace it)\n");
    Deno.writeTextFileSync(`${home}/control/acme`, "name mail.example.test\n");
    assertStringIncludes(
      formatBanner(facts),
      ", until ACME replaces it)\n" +
        "            acme: control/acme orders and renews it (the log, qmd showctl)\n",
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
