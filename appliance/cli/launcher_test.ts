import { assertEquals } from "../../tests/assert.ts";
import {
  checkoutRoot,
  DENO_VERSION,
  launcherCheckout,
  launcherScript,
  qmdCommand,
  shellQuote,
} from "./launcher.ts";

Deno.test("launcher: shell words are quoted only when they need it", () => {
  assertEquals(shellQuote("/srv/qmd/deno.json"), "/srv/qmd/deno.json");
  assertEquals(shellQuote("/srv/my qmd/deno.json"), "'/srv/my qmd/deno.json'");
  assertEquals(shellQuote("it's"), `'it'\\''s'`);
});

Deno.test("launcher: the banner's command is the installed qmd, else deno or npx with this checkout's deno.json", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const root = checkoutRoot();
    const config = shellQuote(`${root}/deno.json`);
    Deno.mkdirSync(`${dir}/bin`);
    Deno.mkdirSync(`${dir}/deno`);
    Deno.writeTextFileSync(`${dir}/deno/deno`, "#!/bin/sh\n", { mode: 0o755 });
    assertEquals(
      qmdCommand(`${dir}/bin`),
      `npx -y deno@${DENO_VERSION} task --config ${config} qmd`,
    );
    assertEquals(qmdCommand(`${dir}/bin:${dir}/deno`), `deno task --config ${config} qmd`);
    // Run through npx, whose deno is first on the PATH but not on the operator's.
    Deno.mkdirSync(`${dir}/npx/node_modules/.bin`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/npx/node_modules/.bin/deno`, "#!/bin/sh\n", { mode: 0o755 });
    assertEquals(
      qmdCommand(`${dir}/npx/node_modules/.bin:${dir}/bin`),
      `npx -y deno@${DENO_VERSION} task --config ${config} qmd`,
    );

    Deno.writeTextFileSync(`${dir}/bin/qmd`, launcherScript("/elsewhere/qmd", ["--allow-all"]), {
      mode: 0o755,
    });
    assertEquals(launcherCheckout(`${dir}/bin/qmd`), "/elsewhere/qmd");
    assertEquals(qmdCommand(`${dir}/bin:${dir}/deno`), `deno task --config ${config} qmd`);
    Deno.writeTextFileSync(`${dir}/bin/qmd`, launcherScript(root, ["--allow-all"]), {
      mode: 0o755,
    });
    assertEquals(qmdCommand(`${dir}/bin:${dir}/deno`), "qmd");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
