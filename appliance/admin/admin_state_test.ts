import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  addAdminToken,
  adminPaths,
  createAdminPassword,
  findAdminToken,
  readTokens,
  setAdminPassword,
  verifyAdminPassword,
} from "./admin_state.ts";

Deno.test("admin state: the password is made once, stored only as a hash (0600), and verified", async () => {
  const home = await Deno.makeTempDir();
  try {
    const password = createAdminPassword(home);
    assert(password !== undefined && password.length >= 16);
    assertEquals(createAdminPassword(home), undefined);
    const stored = Deno.readTextFileSync(adminPaths(home).password);
    assert(!stored.includes(password));
    assert(stored.startsWith("scrypt$"));
    assertEquals(Deno.statSync(adminPaths(home).password).mode! & 0o777, 0o600);
    assert(await verifyAdminPassword(home, password));
    assert(!(await verifyAdminPassword(home, `${password}x`)));
    setAdminPassword(home, "another one");
    assert(await verifyAdminPassword(home, "another one"));
    assert(!(await verifyAdminPassword(home, password)));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("admin state: tokens are stored as SHA-256 by name; a new token of the same name replaces it", async () => {
  const home = await Deno.makeTempDir();
  try {
    const first = addAdminToken(home, "ci");
    const other = addAdminToken(home, "prometheus");
    assertEquals(findAdminToken(home, first), "ci");
    assertEquals(findAdminToken(home, other), "prometheus");
    assertEquals(findAdminToken(home, "qmd_nothing"), undefined);
    assert(!Deno.readTextFileSync(adminPaths(home).tokens).includes(first));
    const second = addAdminToken(home, "ci");
    assertEquals(findAdminToken(home, first), undefined);
    assertEquals(findAdminToken(home, second), "ci");
    assertEquals(readTokens(home).map((token) => token.name), ["prometheus", "ci"]);
    assertThrows(() => addAdminToken(home, "a name\twith tab"));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
