/**
 * For config/'s tests: a temporary home with `control/` holding `files`
 * (name → text), removed after `body` ran.
 */
export async function withControlFiles(
  files: Record<string, string>,
  body: (home: string) => void | Promise<void>,
  prefix = "qmd-controls-",
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix });
  try {
    Deno.mkdirSync(`${home}/control`);
    for (const [name, text] of Object.entries(files)) {
      Deno.writeTextFileSync(`${home}/control/${name}`, text);
    }
    await body(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}
