import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { AccountStore } from "../accounts/store.ts";
import { surveyQmail } from "./qmail_survey.ts";
import { makeQmail } from "./test_qmail.ts";
import { adoptVpopmail } from "./vpopmail_adopt.ts";

Deno.test("vpopmail adoption: a mailbox qmd refuses keeps its domain with vpopmail; a new password ends the crypt-only note", async () => {
  const base = await Deno.makeTempDir();
  try {
    const { root, vpopmail } = makeQmail(base);
    const vpasswd = `${vpopmail}/domains/example.org/vpasswd`;
    Deno.writeTextFileSync(
      vpasswd,
      Deno.readTextFileSync(vpasswd) + "bad user:$1$x$y:1:0:Bad:/nowhere:NOQUOTA:\n",
    );
    const survey = () => surveyQmail(root, { vpopmail, tcpRules: [] }).vpopmail!;
    const first = await adoptVpopmail(root, survey());
    assertEquals(first.domains, ["example.info", "example.org"]);
    assertEquals(first.mailboxes, ["carol@example.info", "ann@example.org", "bob@example.org"]);
    const notes = first.notes.join("\n");
    assertStringIncludes(notes, 'bad user@example.org not adopted: Invalid address "bad user@');
    assertStringIncludes(notes, "example.org keeps its users/assign line");
    // Only example.info's line went; example.org's still hands it to vpopmail.
    assertEquals(first.assignRemoved.length, 1);
    assertStringIncludes(first.assignRemoved[0], "+example.info-:");
    const assign = Deno.readTextFileSync(`${root}/users/assign`);
    assertStringIncludes(assign, "+example.org-:");
    assert(!assign.includes("+example.info-:"));
    assertEquals(first.needPassword, ["bob@example.org"]);

    const store = AccountStore.open(root);
    try {
      assertEquals(await store.verifyPassword("bob@example.org", "$6$salt$bobhash"), false);
      store.setPassword("bob@example.org", "new one");
      assertEquals(await store.verifyPassword("bob@example.org", "new one"), true);
    } finally {
      store.close();
    }
    const second = await adoptVpopmail(root, survey());
    assertEquals(
      [second.domains, second.mailboxes, second.links, second.assignRemoved, second.needPassword],
      [[], [], [], [], []],
    );
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
