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
  assertStringIncludes(text, "no STARTTLS: no certificate");
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
