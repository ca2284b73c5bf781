import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { withControlFiles } from "./test_home.ts";
import { clamdSettings, clamdSocketPath, loadClamdControls, parseClamdTarget } from "./clamd.ts";
import { loadSignatureControls, signatureSettings } from "./signatures.ts";
import { loadQueueExtrasControls, queueExtrasFor } from "./queue_extras.ts";
import { ControlError, ControlErrors, loadAllControls } from "./control.ts";

function withControls(files: Record<string, string>, body: (home: string) => void): Promise<void> {
  return withControlFiles(files, body, "qmd-content-controls-");
}

Deno.test("clamd controls: absent files give no scan, timeout 60, fail open", async () => {
  await withControls({}, (home) => {
    const controls = loadClamdControls(home);
    assertEquals(controls, { target: undefined, timeoutSeconds: 60, failReject: false });
    assertEquals(clamdSettings(controls, {}), undefined);
  });
});

Deno.test("clamd controls: ip:port, [ipv6]:port and a socket path", () => {
  assertEquals(parseClamdTarget("c", "127.0.0.1:3310"), {
    kind: "tcp",
    host: "127.0.0.1",
    port: 3310,
  });
  assertEquals(parseClamdTarget("c", "[::1]:3310"), { kind: "tcp", host: "::1", port: 3310 });
  assertEquals(parseClamdTarget("c", "/run/clamav/clamd.ctl"), {
    kind: "unix",
    path: "/run/clamav/clamd.ctl",
  });
  for (
    const bad of ["localhost:3310", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "clamd.ctl"]
  ) {
    assertThrows(() => parseClamdTarget("c", bad), ControlError);
  }
});

Deno.test("clamd controls: NOCLAMD turns the scan off, CLAMDFAILREJECT overrides the file", async () => {
  await withControls({
    clamd: "127.0.0.1:3310\n",
    timeoutclamd: "5\n",
    clamdfailreject: "1\n",
  }, (home) => {
    const controls = loadClamdControls(home);
    const target = { kind: "tcp" as const, host: "127.0.0.1", port: 3310 };
    assertEquals(clamdSettings(controls, {}), { target, timeoutSeconds: 5, failReject: true });
    assertEquals(clamdSettings(controls, { NOCLAMD: "" }), undefined);
    assertEquals(clamdSettings(controls, { CLAMDFAILREJECT: "0" })?.failReject, false);
    assertEquals(clamdSocketPath(controls), undefined);
  });
  await withControls({ clamd: "/tmp/clamd.sock\n", clamdfailreject: "0\n" }, (home) => {
    const controls = loadClamdControls(home);
    assertEquals(controls.failReject, false);
    assertEquals(clamdSettings(controls, { CLAMDFAILREJECT: "" })?.failReject, true);
    assertEquals(clamdSocketPath(controls), "/tmp/clamd.sock");
  });
});

Deno.test("clamd controls: a broken control/clamd is reported with its file", async () => {
  await withControls({ clamd: "clamd.example:3310\n" }, (home) => {
    const error = assertThrows(() => loadAllControls(() => loadClamdControls(home)), ControlErrors);
    assert(error.message.includes("control/clamd line 1"), error.message);
  });
});

Deno.test("signature controls: comments skipped, lines kept, EXECUTABLEOK turns them off", async () => {
  await withControls({
    signatures: "# Windows executables\nTVqQAAMAA\n\n#UEsDBBQAA\nTVpQAAIAA  \n",
  }, (home) => {
    const controls = loadSignatureControls(home);
    assertEquals(controls.signatures, [
      { prefix: "TVqQAAMAA", line: 2 },
      { prefix: "TVpQAAIAA", line: 5 },
    ]);
    assertEquals(signatureSettings(controls, {}), controls);
    assertEquals(signatureSettings(controls, { EXECUTABLEOK: "1" }), undefined);
  });
  await withControls({}, (home) => {
    assertEquals(signatureSettings(loadSignatureControls(home), {}), undefined);
  });
  await withControls({ signatures: "TVqQ\nnot base64!\n" }, (home) => {
    const error = assertThrows(
      () => loadAllControls(() => loadSignatureControls(home)),
      ControlErrors,
    );
    assert(error.message.includes("control/signatures line 2"), error.message);
  });
});

Deno.test("queue extras controls: bigbrother, extraqueue, originipfield and ORIGINIPFIELD", async () => {
  await withControls({
    bigbrother: "# tap\nBadGuy@Example.NET:bigbrother@example.net\n",
    extraqueue: "archive@example.org\n",
    originipfield: "1\n",
  }, (home) => {
    const controls = loadQueueExtrasControls(home);
    assertEquals(controls, {
      bigBrother: [{ watched: "badguy@example.net", copy: "bigbrother@example.net", line: 2 }],
      extraQueue: ["archive@example.org"],
      originIpField: true,
    });
    const relayed = { env: {}, remoteIp: "192.0.2.9", relaying: true };
    assertEquals(queueExtrasFor(controls, relayed).originatingIp, "192.0.2.9");
    assertEquals(
      queueExtrasFor(controls, { ...relayed, relaying: false }).originatingIp,
      undefined,
    );
    assertEquals(
      queueExtrasFor(controls, { ...relayed, env: { ORIGINIPFIELD: "0" } }).originatingIp,
      undefined,
    );
  });
  await withControls({}, (home) => {
    const controls = loadQueueExtrasControls(home);
    assertEquals(controls, { bigBrother: [], extraQueue: [], originIpField: false });
    const relayed = { env: { ORIGINIPFIELD: "1" }, remoteIp: "192.0.2.9", relaying: true };
    assertEquals(queueExtrasFor(controls, relayed).originatingIp, "192.0.2.9");
  });
  await withControls({ bigbrother: "nobody@example.net\n" }, (home) => {
    const error = assertThrows(
      () => loadAllControls(() => loadQueueExtrasControls(home)),
      ControlErrors,
    );
    assert(error.message.includes("control/bigbrother line 1"), error.message);
  });
});
