import { assertEquals, assertStringIncludes, assertThrows } from "../tests/assert.ts";
import { withControlFiles } from "./test_home.ts";
import { allowedSuites, checkCipherList, checkServerCiphers, RUSTLS_TLS12 } from "./tls_ciphers.ts";
import { ControlError, ControlErrors, loadAllControls } from "./control.ts";

const ALL = RUSTLS_TLS12.length;

Deno.test("cipher lists: the usual permissive lists allow every suite qmd's TLS offers", () => {
  for (
    const list of [
      "HIGH:!aNULL:!MD5",
      "ALL:!LOW:!SSLv2:!EXP:+HIGH:+MEDIUM",
      "ECDHE+AESGCM:ECDHE+CHACHA20",
      "DEFAULT",
      "HIGH:MEDIUM:!aNULL:!RC4:@STRENGTH",
      "EECDH+AESGCM EECDH+CHACHA20, !kRSA",
    ]
  ) {
    assertEquals(allowedSuites(list).length, ALL, list);
    checkCipherList("control/tlsserverciphers", 1, list);
  }
});

Deno.test("cipher lists: a list that leaves a suite out is refused, naming what would still be offered", () => {
  assertEquals(
    allowedSuites("ECDHE-RSA-AES256-GCM-SHA384").map((each) => each.name),
    ["ECDHE-RSA-AES256-GCM-SHA384"],
  );
  assertEquals(allowedSuites("HIGH:!CHACHA20").length, ALL - 2);
  assertEquals(allowedSuites("HIGH:-AES128:AES128").length, ALL, "- may be added back");
  assertEquals(allowedSuites("HIGH:!AES128:AES128").length, ALL - 2, "! is for good");
  const error = assertThrows(
    () => checkCipherList("/q/control/tlsclientciphers", 1, "HIGH:!CHACHA20"),
    ControlError,
  );
  assertStringIncludes(error.message, "/q/control/tlsclientciphers");
  assertStringIncludes(error.message, "ECDHE-RSA-CHACHA20-POLY1305");
  const none = assertThrows(
    () => checkCipherList("control/tlsserverciphers", 1, "RC4-SHA:DES-CBC3-SHA"),
    ControlError,
  );
  assertStringIncludes(none.message, "allows none of them");
});

Deno.test("tlsserverciphers: its lines joined; the smtpd loader refuses a list qmd cannot keep to", async () => {
  await withControlFiles({}, (home) => {
    Deno.writeTextFileSync(
      `${home}/control/tlsserverciphers`,
      "# TLS 1.2\nECDHE+AESGCM\nECDHE+CHACHA20\n",
    );
    loadAllControls(() => checkServerCiphers(home));
    Deno.writeTextFileSync(`${home}/control/tlsserverciphers`, "# TLS 1.2\nECDHE+AESGCM\n");
    const error = assertThrows(
      () => loadAllControls(() => checkServerCiphers(home)),
      ControlErrors,
    );
    assertStringIncludes(error.message, `${home}/control/tlsserverciphers line 2:`);
  }, "qmd-ciphers-");
});
