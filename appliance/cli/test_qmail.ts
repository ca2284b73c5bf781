/**
 * Test helper: a qmail installation as qmail's install, vpopmail and
 * tcprules leave one, with queued messages in every state. Remote
 * deliveries and bounces are routed to a closed loopback port, so a qmd
 * started on it sends nothing off the machine. Used by tests only.
 */
import { buildCdb } from "../../config/cdb.ts";
import { makeTestQueue, writeVanillaMessage } from "../queue/test_queue.ts";

export interface TestQmail {
  root: string;
  vpopmail: string;
  tcp: string;
  /** joe's Maildir (users/assign gives joe a home with .qmail ./Maildir/). */
  joeMaildir: string;
  /**
   * vpopmail's Maildirs by address: ann@example.org (clear-text password
   * ANN_PASSWORD, a 50 MB quota, one message in new/ and one in cur/),
   * bob@example.org (only a crypt hash), and carol@example.info, whose
   * domain has only a vpasswd.cdb (clear-text password CAROL_PASSWORD).
   */
  vpopmailMaildirs: Record<string, string>;
}

export const ANN_PASSWORD = "s3cret:x";
export const CAROL_PASSWORD = "c4rol";

/** vpopmail's domains: vpasswd (and its cdb), Maildirs with mail, an alias file, .qmail-default. */
function makeVpopmail(
  vpopmail: string,
  write: (path: string, text: string) => void,
): Record<string, string> {
  const maildirs: Record<string, string> = {};
  const vdelivermail = `| ${vpopmail}/bin/vdelivermail '' bounce-no-mailbox\n`;
  const mailbox = (domain: string, user: string) => {
    const dir = `${vpopmail}/domains/${domain}/${user}`;
    for (const sub of ["tmp", "new", "cur"]) {
      Deno.mkdirSync(`${dir}/Maildir/${sub}`, { recursive: true });
    }
    maildirs[`${user}@${domain}`] = `${dir}/Maildir`;
    return dir;
  };
  const org = `${vpopmail}/domains/example.org`;
  const vpasswd = `ann:$1$salt$annhash:1:0:Ann:${mailbox("example.org", "ann")}:52428800S:` +
    `${ANN_PASSWORD}\nbob:$6$salt$bobhash:1:0:Bob:${mailbox("example.org", "bob")}:NOQUOTA:\n`;
  write(`${org}/vpasswd`, vpasswd);
  const records = vpasswd.trim().split("\n").map((line) => {
    const colon = line.indexOf(":");
    const encode = (text: string) => new TextEncoder().encode(text);
    return { key: encode(line.slice(0, colon)), data: encode(line.slice(colon + 1)) };
  });
  Deno.writeFileSync(`${org}/vpasswd.cdb`, buildCdb(records));
  write(`${org}/.qmail-default`, vdelivermail);
  write(`${org}/.qmail-info`, "./ann/Maildir/\n");
  write(`${maildirs["ann@example.org"]}/new/1700000000.1.host`, "Subject: waiting\n\nnew\n");
  write(`${maildirs["ann@example.org"]}/cur/1600000000.1.host:2,S`, "Subject: read\n\nold\n");
  const info = `${vpopmail}/domains/example.info`;
  const carol = `$1$salt$carolhash:1:0:Carol:${mailbox("example.info", "carol")}:NOQUOTA:` +
    CAROL_PASSWORD;
  Deno.writeFileSync(
    `${info}/vpasswd.cdb`,
    buildCdb([{ key: new TextEncoder().encode("carol"), data: new TextEncoder().encode(carol) }]),
  );
  write(`${info}/.qmail-default`, vdelivermail);
  return maildirs;
}

/** Builds it under `base`: BASE/var/qmail, BASE/home/vpopmail, BASE/etc/tcp.smtp, BASE/home/joe. */
export function makeQmail(base: string): TestQmail {
  const root = `${base}/var/qmail`;
  const vpopmail = `${base}/home/vpopmail`;
  const tcp = `${base}/etc/tcp.smtp`;
  const joe = `${base}/home/joe`;
  const write = (path: string, text: string) => {
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(path, text);
  };
  write(`${root}/control/me`, "mail.example.com\n");
  write(`${root}/control/locals`, "mail.example.com\nlocalhost\n");
  write(`${root}/control/rcpthosts`, "mail.example.com\nexample.org\nexample.info\n");
  write(`${root}/control/virtualdomains`, "example.org:example.org\nexample.info:example.info\n");
  write(`${root}/control/qmqpservers`, "192.0.2.9\n");
  write(`${root}/control/simcontrol`, ":clam=yes\n");
  write(`${root}/control/smtproutes`, ":127.0.0.1:1\n");
  write(`${root}/alias/.qmail-postmaster`, "&admin@example.org\n");
  write(`${joe}/.qmail`, "./Maildir/\n");
  write(`${joe}/.qmail-lists`, "&lists@example.net\n");
  for (const sub of ["tmp", "new", "cur"]) {
    Deno.mkdirSync(`${joe}/Maildir/${sub}`, { recursive: true });
  }
  write(
    `${root}/users/assign`,
    `=joe:joe:1000:1000:${joe}:::\n` +
      `+example.org-:example.org:89:89:${vpopmail}/domains/example.org:-::\n` +
      `+example.info-:example.info:89:89:${vpopmail}/domains/example.info:-::\n.\n`,
  );
  const vpopmailMaildirs = makeVpopmail(vpopmail, write);
  write(tcp, '127.:allow,RELAYCLIENT=""\n# comment\n:allow\n');
  write(`${tcp}.cdb`, "");
  // The queue, flat todo/ as vanilla qmail has it: one message just queued
  // (intd/ and todo/), 101 preprocessed with a local and a remote recipient
  // left (info/, local/, remote/), 102 done with its bounce pending
  // (info/, bounce/).
  const layout = makeTestQueue(root, { todoSplit: false });
  writeVanillaMessage(layout, {
    received: "Received: (qmail 1 invoked by uid 0); 1 Jan 2026 00:00:00 -0000\n",
    body: "Subject: new\n\nfor joe\n",
    uid: 0,
    pid: 1,
    sender: "a@example.net",
    recipients: ["joe@mail.example.com"],
  });
  const files: [string, string][] = [
    [layout.mess(101), "Subject: old\n\nfor joe and c\n"],
    [layout.info(101), "Fa@example.net\0"],
    [layout.local(101), "Tjoe@mail.example.com\0"],
    [layout.remote(101), "Tc@remote.example\0"],
    [layout.mess(102), "Subject: failed\n\nfor d\n"],
    [layout.info(102), "Fa@example.net\0"],
    [layout.bounce(102), "<d@remote.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"],
  ];
  for (const [path, text] of files) write(path, text);
  return { root, vpopmail, tcp, joeMaildir: `${joe}/Maildir`, vpopmailMaildirs };
}
