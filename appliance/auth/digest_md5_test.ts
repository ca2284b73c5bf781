import { assertEquals } from "../../tests/assert.ts";
import {
  computeDigestMd5,
  formatDigestMd5Challenge,
  formatDigestMd5Response,
  parseDigestDirectives,
  parseDigestMd5Challenge,
  parseDigestMd5Response,
  quoteDigestString,
} from "./digest_md5.ts";

const encode = (text: string) => new TextEncoder().encode(text);

// RFC 2831 §4, the IMAP example.
const RFC_CHALLENGE =
  'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8';
const RFC_RESPONSE = 'charset=utf-8,username="chris",realm="elwood.innosoft.com",' +
  'nonce="OA6MG9tEQGm2hh",nc=00000001,cnonce="OA6MHXh6VqTrRk",' +
  'digest-uri="imap/elwood.innosoft.com",response=d388dad90d4bbd760a152321f2143af7,qop=auth';

Deno.test("digest-md5: RFC 2831 §4 response and rspauth", () => {
  assertEquals(
    computeDigestMd5({
      username: "chris",
      realm: "elwood.innosoft.com",
      password: "secret",
      nonce: "OA6MG9tEQGm2hh",
      cnonce: "OA6MHXh6VqTrRk",
      nc: "00000001",
      qop: "auth",
      digestUri: "imap/elwood.innosoft.com",
    }),
    {
      response: "d388dad90d4bbd760a152321f2143af7",
      rspauth: "ea40f60335c427b5527b84dbabcdfffd",
    },
  );
});

Deno.test("digest-md5: the RFC example response parses and formats back byte for byte", () => {
  const parsed = parseDigestMd5Response(encode(RFC_RESPONSE));
  assertEquals(parsed, {
    username: "chris",
    realm: "elwood.innosoft.com",
    nonce: "OA6MG9tEQGm2hh",
    cnonce: "OA6MHXh6VqTrRk",
    nc: "00000001",
    qop: "auth",
    digestUri: "imap/elwood.innosoft.com",
    response: "d388dad90d4bbd760a152321f2143af7",
    utf8: true,
  });
  assertEquals(formatDigestMd5Response(parsed!), RFC_RESPONSE);
  const challenge = parseDigestMd5Challenge(encode(RFC_CHALLENGE));
  assertEquals(challenge, {
    realms: ["elwood.innosoft.com"],
    nonce: "OA6MG9tEQGm2hh",
    qop: ["auth"],
    utf8: true,
    algorithm: "md5-sess",
  });
  assertEquals(
    formatDigestMd5Challenge({ realm: "elwood.innosoft.com", nonce: "OA6MG9tEQGm2hh" }),
    RFC_CHALLENGE,
  );
});

Deno.test("digest-md5: directive lists: white space, empty elements, quoted pairs", () => {
  assertEquals(parseDigestDirectives(' a = "x\\"y" ,, B=tok ,c="" , '), [
    ["a", 'x"y'],
    ["b", "tok"],
    ["c", ""],
  ]);
  assertEquals(parseDigestDirectives(""), []);
  for (const bad of ['a="open', "a", "a=", "=x", 'a="x" b="y"', "a=x y", 'a="x\\']) {
    assertEquals(parseDigestDirectives(bad), undefined, bad);
  }
  assertEquals(quoteDigestString('a"b\\c'), '"a\\"b\\\\c"');
  assertEquals(parseDigestDirectives(`x=${quoteDigestString('a"b\\c')}`), [["x", 'a"b\\c']]);
  assertEquals(parseDigestDirectives(`x="${"a".repeat(13000)}"`), undefined);
});

Deno.test("digest-md5: responses missing fields, repeating them or with bad values are refused", () => {
  const without = (name: string) =>
    RFC_RESPONSE.split(",").filter((part) => !part.startsWith(`${name}=`)).join(",");
  for (const name of ["username", "nonce", "cnonce", "nc", "digest-uri", "response"]) {
    assertEquals(parseDigestMd5Response(encode(without(name))), undefined, name);
  }
  // realm and qop may be left out; charset too (ISO 8859-1 then).
  assertEquals(parseDigestMd5Response(encode(without("realm")))?.realm, "");
  assertEquals(parseDigestMd5Response(encode(without("qop")))?.qop, "auth");
  assertEquals(parseDigestMd5Response(encode(without("charset")))?.utf8, false);
  for (
    const bad of [
      `${RFC_RESPONSE},nonce="again"`,
      RFC_RESPONSE.replace("charset=utf-8", "charset=latin1"),
      RFC_RESPONSE.replace("response=d388", "response=x388"),
      RFC_RESPONSE.replace("response=d388dad90d4bbd760a152321f2143af7", "response=d388"),
      RFC_RESPONSE.replace("nc=00000001", "nc=1"),
      RFC_RESPONSE.replace('cnonce="OA6MHXh6VqTrRk"', 'cnonce=""'),
      RFC_RESPONSE.replace('cnonce="OA6MHXh6VqTrRk"', 'cnonce="a b"'),
    ]
  ) {
    assertEquals(parseDigestMd5Response(encode(bad)), undefined, bad);
  }
  // Unknown directives are ignored (§2.1.2); authzid is kept.
  assertEquals(
    parseDigestMd5Response(encode(`${RFC_RESPONSE},x-new=1,authzid="chris"`))?.authzid,
    "chris",
  );
  // Invalid UTF-8 under charset=utf-8.
  const bytes = new Uint8Array([...encode('charset=utf-8,username="'), 0xff, ...encode('"')]);
  assertEquals(parseDigestMd5Response(bytes), undefined);
});

Deno.test("digest-md5: UTF-8 names that fit ISO 8859-1 are hashed in ISO 8859-1 (§2.1.2.1)", () => {
  const base = {
    realm: "example.org",
    nonce: "n",
    cnonce: "c",
    nc: "00000001",
    qop: "auth",
    digestUri: "smtp/example.org",
  };
  // "jöe" fits ISO 8859-1: the same digest as the Latin-1 bytes a non-UTF-8 client hashes.
  const utf8 = computeDigestMd5({ ...base, username: "jöe", password: "pässword" });
  const latin = computeDigestMd5({ ...base, username: "j\xf6e", password: "p\xe4ssword" });
  assertEquals(utf8, latin);
  // "€uro" does not fit: hashed as its UTF-8 bytes, E2 82 AC "uro".
  const wide = computeDigestMd5({ ...base, username: "u", password: "€uro" });
  const narrow = computeDigestMd5({ ...base, username: "u", password: "\xe2\x82\xacuro" });
  assertEquals(wide, narrow, "UTF-8 bytes of € are what a UTF-8 client hashes");
  const parsed = parseDigestMd5Response(
    encode(
      'charset=utf-8,username="jöe",nonce="n",cnonce="c",nc=00000001,' +
        'digest-uri="smtp/x",response=00000000000000000000000000000000',
    ),
  );
  assertEquals(parsed?.username, "jöe");
});
