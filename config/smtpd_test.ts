import { assertEquals, assertThrows } from "../tests/assert.ts";
import { ControlError } from "./control.ts";
import { loadSmtpdControls, resolveSmtpdPolicy, SMTPD_DEFAULTS } from "./smtpd.ts";

function homeWith(files: Record<string, string>): string {
  const home = Deno.makeTempDirSync({ prefix: "qmd-smtpd-controls-" });
  Deno.mkdirSync(`${home}/control/auth`, { recursive: true });
  Deno.mkdirSync(`${home}/control/log`, { recursive: true });
  Deno.writeTextFileSync(`${home}/control/me`, "mx.example.net\n");
  for (const [name, text] of Object.entries(files)) {
    Deno.writeTextFileSync(`${home}/control/${name}`, text);
  }
  return home;
}

Deno.test("smtpd controls: defaults from the seeds and qmd's own", () => {
  const home = homeWith({});
  const controls = loadSmtpdControls(home);
  assertEquals(controls.maxRecipients, 100);
  assertEquals(controls.maxCmdLen, SMTPD_DEFAULTS.maxCmdLen);
  assertEquals(controls.maxAddrLen, 900);
  assertEquals([controls.authSmtp, controls.authSmtps], [60, 63]);
  assertEquals([controls.tlsSmtpExt, controls.tlsSmtpInt], [true, true]);
  assertEquals([controls.secAuthExt, controls.secAuthInt], [false, false]);
  assertEquals(controls.databytesMf, null);
  assertEquals(controls.checkpassword, null);
  assertEquals(controls.log, {
    smtpIn: false,
    smtpOut: false,
    orChecks: false,
    tarpitting: false,
    tcpserver: false,
    pidQp: false,
  });
  Deno.removeSync(home, { recursive: true });
});

Deno.test("smtpd controls: files are read, with the auth/ and log/ subdirectories", () => {
  const home = homeWith({
    "auth/smtp": "3\n",
    "auth/oldauth": "1\n",
    "log/smtp_in": "1\n",
    "tlssmtpext": "0\n",
    "secauthint": "1\n",
    "databytesmf": "# limits by sender\nBig@Example.org:200\n@small.example:10\n",
    "checkpassword": "/bin/checkpassword  /bin/true\n",
    "smtpgreeting": "mx.example.net one\nsecond line\n",
  });
  const controls = loadSmtpdControls(home);
  assertEquals(controls.authSmtp, 3);
  assertEquals(controls.oldAuth, true);
  assertEquals(controls.log.smtpIn, true);
  assertEquals(controls.tlsSmtpExt, false);
  assertEquals(controls.secAuthInt, true);
  assertEquals(controls.databytesMf, { "big@example.org": 200, "@small.example": 10 });
  assertEquals(controls.checkpassword, ["/bin/checkpassword", "/bin/true"]);
  assertEquals(controls.greeting, ["mx.example.net one", "second line"]);
  Deno.removeSync(home, { recursive: true });
});

Deno.test("smtpd controls: a broken file is named with its line", () => {
  const home = homeWith({ "databytesrcpt": "ok@example.net:5\nno-size-here\n" });
  const error = assertThrows(() => loadSmtpdControls(home), ControlError);
  assertEquals(error.message.includes(`${home}/control/databytesrcpt line 2`), true);
  Deno.writeTextFileSync(`${home}/control/databytesrcpt`, "");
  Deno.writeTextFileSync(`${home}/control/tarpitcount`, "many\n");
  const second = assertThrows(() => loadSmtpdControls(home), ControlError);
  assertEquals(second.message.includes(`${home}/control/tarpitcount line 1`), true);
  Deno.removeSync(home, { recursive: true });
});

Deno.test("smtpd policy: the environment overrides the controls, per client", () => {
  const home = homeWith({ tarpitcount: "5\n", databytes: "1000\n", secauthext: "1\n" });
  const controls = loadSmtpdControls(home);
  const outsider = resolveSmtpdPolicy(controls, {});
  assertEquals([outsider.tarpitCount, outsider.databytes, outsider.secAuth], [5, 1000, true]);
  assertEquals(outsider.relayClient, undefined);
  const insider = resolveSmtpdPolicy(controls, {
    RELAYCLIENT: "",
    DATABYTES: "2000",
    TARPITCOUNT: "9",
    MAXRECIPIENTS: "7",
    SMTPS: "1",
    QMAILQUEUE: "/usr/bin/simscan",
    MAXCONNIP: "3",
  });
  assertEquals(insider.relayClient, "");
  assertEquals(insider.secAuth, false, "secauthint applies to RELAYCLIENT clients");
  assertEquals([insider.databytes, insider.tarpitCount, insider.maxRecipients], [2000, 9, 7]);
  assertEquals([insider.smtps, insider.qmailQueue, insider.maxPerIp], [
    true,
    "/usr/bin/simscan",
    3,
  ]);
  assertEquals(resolveSmtpdPolicy(controls, { NO_TARPITTING: "" }).tarpitCount, 0);
  assertEquals(resolveSmtpdPolicy(controls, { TARPITCOUNT: "lots" }).tarpitCount, 5);
  assertEquals(resolveSmtpdPolicy(controls, { SECAUTHEXT: "0" }).secAuth, false);
  assertEquals(resolveSmtpdPolicy(controls, { TLSSMTPEXT: "0" }).tlsOffered, false);
  Deno.removeSync(home, { recursive: true });
});
