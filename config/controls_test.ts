import { assert, assertEquals } from "../tests/assert.ts";
import { CONTROLS, findControl } from "./controls.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Every .ts file under DIR (tests excluded: they read made-up names on purpose). */
function sources(dir: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...sources(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) found.push(path);
  }
  return found;
}

const READ_CALL =
  /readControl(?:Text|Line|Lines|List|Number)\s*\(\s*[^,()]+,\s*(["'`])([^"'`$]+)\1/g;

/** The names of control files read by literal name anywhere in the source. */
export function controlNamesRead(text: string): string[] {
  return [...text.matchAll(READ_CALL)].map((match) => match[2]);
}

Deno.test("controls: every control file the code reads is in the table", () => {
  const missing: string[] = [];
  let calls = 0;
  for (const dir of ["appliance", "config"]) {
    for (const path of sources(`${ROOT}/${dir}`)) {
      for (const name of controlNamesRead(Deno.readTextFileSync(path))) {
        calls++;
        if (!findControl(name)) missing.push(`${path.slice(ROOT.length + 1)}: ${name}`);
      }
    }
  }
  assertEquals(missing, [], "add these to CONTROLS in config/controls.ts");
  assert(calls > 0, "the scan found readControl* calls");
});

Deno.test("controls: the scanner sees the call forms in use", () => {
  assertEquals(
    controlNamesRead(
      `readControlNumber(home, "concurrencylocal", 10); readControlLine(this.#home,'me');\n` +
        "readControlList(\n  home,\n  `rcpthosts`,\n); readControlLine(home, name);",
    ),
    ["concurrencylocal", "me", "rcpthosts"],
  );
});

Deno.test("controls: names are unique and cover docs/queue-format.md §9", () => {
  const names = CONTROLS.map((spec) => spec.name);
  assertEquals(new Set(names).size, names.length);
  for (
    const name of [
      "me",
      "badmailfrom",
      "bouncefrom",
      "bouncehost",
      "concurrencylocal",
      "concurrencyremote",
      "databytes",
      "defaultdomain",
      "defaulthost",
      "doublebouncehost",
      "doublebounceto",
      "envnoathost",
      "helohost",
      "idhost",
      "localiphost",
      "locals",
      "morercpthosts",
      "percenthack",
      "plusdomain",
      "qmqpservers",
      "queuelifetime",
      "rcpthosts",
      "smtpgreeting",
      "smtproutes",
      "timeoutconnect",
      "timeoutremote",
      "timeoutsmtpd",
      "virtualdomains",
    ]
  ) assert(findControl(name), name);
  for (const spec of CONTROLS) {
    assert(spec.meaning.length > 0 && !spec.meaning.includes("\n"), spec.name);
    if (spec.fallback) assertEquals(spec.default, "me", spec.name);
  }
});
