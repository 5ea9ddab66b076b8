// tests/ui/crypto_test.mjs: the page's own audit checks (ui/jcs.js,
// ui/merkle.js, ui/note.js) in node >= 20, whose globalThis.crypto.subtle
// is the WebCrypto the browser has. TAP on stdout; run from the
// repository root (scripts/run-tests does), `node tests/ui/crypto_test.mjs`.
//
// - RFC 8785: tests/testdata/jcs (input -> output, outhex) and the first
//   10,000 lines of the ES6 number test file.
// - RFC 9162: tests/testdata/merkle (transparency-dev/merkle's inclusion
//   proofs, good and bad, and the reference tree's roots).
// - Signed checkpoints: tests/ui/testdata/checkpoint.note, signed by
//   common/note.c (how: tests/ui/testdata/README), and a fresh one signed
//   here by tests/note/mknote.c (built from common/ with cc) with a key
//   openssl makes: each verifies with the right key, and fails with a byte
//   changed, another key, or a signature by another name.
// - What a real optreg-server served (tests/ui/testdata/registry): every
//   event's leaf hash recomputed from its JSON matches the listed one and
//   its proof leads to the signed checkpoint's root; a changed field fails.
// - The page's verdict (ui/audit.js checkPage): verified with the pinned
//   key, unpinned with only the listed keys, failed with a wrong key or a
//   tampered event, uncovered past the checkpoint, none without one, and
//   at most 4 proof requests in flight; with the checkpoint seen before, the
//   registry's consistency proofs (tests/ui/testdata/registry) from it.
import {execFileSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

import {canonicalBytes, canonicalize} from '../../ui/jcs.js';
import {fromBase64, leafHash, rootOf, toBase64, toHex, verifyConsistency, verifyInclusion} from '../../ui/merkle.js';
import {checkPage} from '../../ui/audit.js';
import {importPublicKeyPem, keyHash, openNote, parseCheckpoint, parseNote, verifyCheckpoint} from '../../ui/note.js';

const TESTDATA = process.env.OPTREG_TESTDATA || 'tests/testdata';
const BUILD = process.env.BUILD || 'build/release';
const HERE = 'tests/ui/testdata';

let n = 0;
let failed = 0;
function ok(cond, desc, diag) {
  n++;
  if (cond) {
    console.log(`ok ${n} - ${desc}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${desc}`);
    if (diag) console.log(String(diag).split('\n').map((l) => '# ' + l).join('\n'));
  }
}
function skip(desc, why) {
  n++;
  console.log(`ok ${n} - ${desc} # SKIP ${why}`);
}
async function rejects(promise) {
  try {
    await promise;
    return false;
  } catch (e) {
    return true;
  }
}
const fromHex = (hex) => Uint8Array.from(hex.match(/../g) || [], (x) => parseInt(x, 16));

// ---- RFC 8785 ------------------------------------------------------------

function testJcs() {
  const dir = join(TESTDATA, 'jcs');
  for (const f of readdirSync(join(dir, 'input')).sort()) {
    const input = JSON.parse(readFileSync(join(dir, 'input', f), 'utf8'));
    const want = readFileSync(join(dir, 'output', f));
    const got = canonicalBytes(input);
    ok(Buffer.from(got).equals(want), `jcs ${f}: output`, `got  ${Buffer.from(got)}\nwant ${want}`);
    const hex = readFileSync(join(dir, 'outhex', f.replace(/\.json$/, '.txt')), 'utf8').replace(/\s+/g, '');
    ok(toHex(got) === hex.toLowerCase(), `jcs ${f}: outhex`);
  }
  const lines = readFileSync(join(dir, 'numbers', 'es6testfile-first10000.txt'), 'utf8').split('\n').filter(Boolean);
  const dv = new DataView(new ArrayBuffer(8));
  const bad = [];
  for (const line of lines) {
    const [bits, want] = line.split(',');
    dv.setBigUint64(0, BigInt('0x' + bits));
    const v = dv.getFloat64(0);
    if (!Number.isFinite(v)) continue;  // NaN/Infinity lines: not JSON
    const got = canonicalize(v);
    if (got !== want) bad.push(`${bits}: got ${got}, want ${want}`);
  }
  ok(lines.length >= 10000 && bad.length === 0, `jcs numbers: ${lines.length} ES6 test values`, bad.slice(0, 5).join('\n'));
  let threw = 0;
  for (const v of [NaN, Infinity, '\ud800', {a: '\udc00x'}, undefined, () => 1]) {
    try {
      canonicalize(v);
    } catch (e) {
      threw++;
    }
  }
  ok(threw === 6, 'jcs refuses NaN, Infinity, lone surrogates, undefined, functions', `threw ${threw} of 6`);
  ok(canonicalize({b: [1, -0, 1e21, 'é\u000f'], a: {'\u20ac': 1, '\r': 2}}) === '{"a":{"\\r":2,"€":1},"b":[1,0,1e+21,"é\\u000f"]}',
     'jcs sorts nested members by UTF-16 units and escapes controls');
}

// ---- RFC 9162 ------------------------------------------------------------

async function testMerkle() {
  const dir = join(TESTDATA, 'merkle');
  const ref = JSON.parse(readFileSync(join(dir, 'reference_tree.json'), 'utf8'));
  const leaves = [];
  for (const hex of ref.leaf_inputs_hex) leaves.push(await leafHash(fromHex(hex)));
  const roots = [];
  for (let size = 0; size <= leaves.length; size++) roots.push(toHex(await rootOf(leaves.slice(0, size))));
  ok(JSON.stringify(roots) === JSON.stringify(ref.root_hash_by_tree_size_hex),
     `merkle: reference tree roots for sizes 0..${leaves.length}`, `got ${roots.join(' ')}`);

  // transparency-dev/merkle's inclusion vectors: each must verify exactly
  // when wantErr is false. JSON.parse turns leafIdx 2^64-1 into a float
  // past 2^53, which rootFromInclusion refuses (wantErr is true there).
  let cases = 0;
  let good = 0;
  const wrong = [];
  const files = readdirSync(join(dir, 'inclusion'), {recursive: true}).filter((f) => f.endsWith('.json')).sort();
  {
    for (const f of files) {
      const c = JSON.parse(readFileSync(join(dir, 'inclusion', f), 'utf8'));
      let got;
      try {
        got = await verifyInclusion(c.leafIdx, c.treeSize, fromBase64(c.leafHash),
                                    (c.proof || []).map(fromBase64), fromBase64(c.root));
      } catch (e) {
        got = false;  // a malformed hash in the vector
      }
      cases++;
      if (!c.wantErr) good++;
      if (got === c.wantErr) wrong.push(`${f} (${c.desc}): verified=${got}`);
    }
  }
  ok(cases > 50 && good >= 6 && wrong.length === 0,
     `merkle: ${cases} inclusion vectors (${good} good) as transparency-dev/merkle says`, wrong.join('\n'));

  // Every proof of every leaf of a 13-leaf tree, built here, verifies;
  // the same proof for the neighbouring leaf or a flipped bit does not.
  const tl = [];
  for (let i = 0; i < 13; i++) tl.push(await leafHash(Uint8Array.of(i)));
  const proofOf = async (index, lo, hi) => {  // RFC 9162 2.1.3.1 PATH(m, D[lo:hi])
    if (hi - lo <= 1) return [];
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    if (index < lo + k) return [...await proofOf(index, lo, lo + k), await rootOf(tl.slice(lo + k, hi))];
    return [...await proofOf(index, lo + k, hi), await rootOf(tl.slice(lo, lo + k))];
  };
  let all = true;
  let none = true;
  for (let size = 1; size <= 13; size++) {
    const root = await rootOf(tl.slice(0, size));
    for (let i = 0; i < size; i++) {
      const p = await proofOf(i, 0, size);
      all = all && await verifyInclusion(i, size, tl[i], p, root);
      if (size > 1) none = none && !await verifyInclusion(i, size, tl[(i + 1) % size], p, root);
      if (p.length) {
        const flipped = p.map((x) => x.slice());
        flipped[0][5] ^= 1;
        none = none && !await verifyInclusion(i, size, tl[i], flipped, root);
      }
    }
  }
  // transparency-dev/merkle's consistency vectors, the same way.
  const cfiles = readdirSync(join(dir, 'consistency'), {recursive: true}).filter((f) => f.endsWith('.json')).sort();
  let ccases = 0;
  let cgood = 0;
  const cwrong = [];
  for (const f of cfiles) {
    const c = JSON.parse(readFileSync(join(dir, 'consistency', f), 'utf8'));
    let got;
    try {
      got = await verifyConsistency(c.size1, c.size2, fromBase64(c.root1), fromBase64(c.root2), (c.proof || []).map(fromBase64));
    } catch (e) {
      got = false;
    }
    ccases++;
    if (!c.wantErr) cgood++;
    if (got === c.wantErr) cwrong.push(`${f} (${c.desc}): verified=${got}`);
  }
  ok(ccases > 50 && cgood >= 5 && cwrong.length === 0,
     `merkle: ${ccases} consistency vectors (${cgood} good) as transparency-dev/merkle says`, cwrong.join('\n'));

  ok(all, 'merkle: every inclusion proof in trees of 1..13 leaves verifies');
  ok(none, 'merkle: a proof for another leaf, or with a bit flipped, fails');
}

// ---- signed checkpoints --------------------------------------------------

// The C signer: $BUILD/tests/note/mknote when note_test.sh built it from
// the current sources, else built here the same way into `tmp`.
function mknote(tmp) {
  const srcs = ['tests/note/mknote.c', 'common/note.c', 'common/sign.c', 'common/dsse.c', 'common/base64.c',
                'common/buf.c', 'common/error.c', 'common/hash.c', 'common/jsonutil.c'];
  const built = join(BUILD, 'tests/note/mknote');
  if (existsSync(built)) {
    const t = statSync(built).mtimeMs;
    if (srcs.every((s) => statSync(s).mtimeMs <= t)) return built;
  }
  let libs;
  try {
    libs = execFileSync('pkg-config', ['--cflags', '--libs', 'jansson', 'libcrypto'], {encoding: 'utf8'}).trim().split(/\s+/);
  } catch (e) {
    libs = ['-ljansson', '-lcrypto'];
  }
  const out = join(tmp, 'mknote');
  execFileSync('cc', ['-std=c11', '-D_POSIX_C_SOURCE=200809L', '-D_DEFAULT_SOURCE', '-I.', '-O1', '-o', out, ...srcs, ...libs],
               {stdio: ['ignore', 'ignore', 'pipe']});
  return out;
}

async function checkNote(label, note, pem, otherPem) {
  const pub = await importPublicKeyPem(pem);
  const cp = await verifyCheckpoint(note, pub);
  ok(cp.size > 0 && cp.root.length === 32, `${label}: verifies with its key (size ${cp.size}, key hash ${cp.keyHash})`);
  const {sigs} = parseNote(note);
  ok(sigs.length === 1 && cp.keyHash === toHex(sigs[0].hash) && toHex(await keyHash(cp.origin, pub.raw)) === cp.keyHash,
     `${label}: key hash is SHA-256(origin, 0x0a, 0x01, key)[:4]`);

  // Change each byte of the signed text and of the signature in turn:
  // every change must fail (a parse error or a bad signature).
  const bytes = new TextEncoder().encode(note);
  const sigStart = note.lastIndexOf('\n\n') + 2;
  let passed = [];
  for (let i = 0; i < bytes.length; i++) {
    if (i === note.lastIndexOf('\n\n') + 1) continue;  // the blank line: changing it is a parse error anyway
    const t = bytes.slice();
    t[i] = t[i] === 0x41 ? 0x42 : 0x41;
    let text;
    try {
      text = new TextDecoder('utf-8', {fatal: true}).decode(t);
    } catch (e) {
      continue;  // not UTF-8: the page never gets it as text
    }
    if (!await rejects(verifyCheckpoint(text, pub))) passed.push(i);
  }
  ok(passed.length === 0, `${label}: every one-byte change (text, key name, key hash, signature) fails`,
     `changes at byte offsets ${passed.join(',')} still verify`);
  const sigb64 = note.slice(sigStart).trim().split(' ').pop();
  const sig = fromBase64(sigb64);
  sig[sig.length - 1] ^= 0x80;
  ok(await rejects(verifyCheckpoint(note.replace(sigb64, toBase64(sig)), pub)), `${label}: a flipped signature bit fails`);
  const size = String(cp.size);
  ok(await rejects(verifyCheckpoint(note.replace(`\n${size}\n`, `\n${cp.size + 1}\n`), pub)), `${label}: a larger size fails`);
  ok(await rejects(verifyCheckpoint(note, await importPublicKeyPem(otherPem))), `${label}: another key fails`);
  // The same key under another name is another key (the key hash differs).
  ok(await rejects(openNote(note, cp.origin + 'x', pub)), `${label}: the key under another name fails`);
  return cp;
}

async function testNotes() {
  const otherPem = readFileSync(join(HERE, 'other-key.pub.pem'), 'utf8');
  await checkNote('committed checkpoint', readFileSync(join(HERE, 'checkpoint.note'), 'utf8'),
                  readFileSync(join(HERE, 'registry-key.pub.pem'), 'utf8'), otherPem);

  const tmp = mkdtempSync(join(tmpdir(), 'optreg-crypto.'));
  try {
    let bin;
    try {
      bin = mknote(tmp);
    } catch (e) {
      ok(false, 'mknote builds from common/', e.stderr ? String(e.stderr).slice(0, 2000) : e.message);
      return;
    }
    ok(true, 'mknote builds from common/');
    const key = join(tmp, 'key.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
    const pem = execFileSync('openssl', ['pkey', '-in', key, '-pubout'], {encoding: 'utf8'});
    // A tree of 5 leaves, its root computed here; the C code signs it.
    const tl = [];
    for (let i = 0; i < 5; i++) tl.push(await leafHash(new TextEncoder().encode(`{"i":${i}}`)));
    const root = await rootOf(tl);
    const origin = 'ui-test.optreg.local/audit';
    const note = execFileSync(bin, ['checkpoint', key, origin, origin, '5', toHex(root)], {encoding: 'utf8'});
    const cp = await checkNote('fresh checkpoint from common/note.c', note, pem, otherPem);
    ok(cp.origin === origin && cp.size === 5 && toHex(cp.root) === toHex(root),
       'fresh checkpoint: origin, size and root are what was signed');
    const pub = await importPublicKeyPem(pem);
    writeFileSync(join(tmp, 'pub.pem'), pem);
    const want = execFileSync('sh', ['-c', 'openssl pkey -pubin -outform DER -in "$1" | sha256sum', 'sh', join(tmp, 'pub.pem')],
                              {encoding: 'utf8'}).split(' ')[0];
    ok(/^[0-9a-f]{64}$/.test(want) && pub.keyid === want, 'key id is SHA-256 of the SPKI DER, as openssl computes it',
       `got ${pub.keyid}, want ${want}`);
  } finally {
    rmSync(tmp, {recursive: true, force: true});
  }

  // Malformed keys and notes are refused with a reason.
  ok(await rejects(importPublicKeyPem('not a key')), 'a text that is not PEM is refused');
  ok(await rejects(importPublicKeyPem(readFileSync(join(HERE, 'p256.pub.pem'), 'utf8'))), 'a P-256 key is refused');
  let threw = 0;
  for (const bad of ['a\n1\nAAAA\n', 'a\n1\nAAAA\n\n', 'a\n1\nAAAA\n\n\u2014 a !!!\n', 'a\n1\nAAAA\n\n\u2014 a+b AAAAAAA=\n']) {
    try {
      parseNote(bad);
    } catch (e) {
      threw++;
    }
  }
  ok(threw === 4, 'malformed notes are refused', `${threw} of 4`);
  threw = 0;
  const r = toBase64(new Uint8Array(32));
  for (const bad of [`o\n01\n${r}\n`, `o\n-1\n${r}\n`, `o\n1\n${r.slice(4)}\n`, `\n1\n${r}\n`, `o\n1\n${r}`, `o\n1\n${r}\n\n`]) {
    try {
      parseCheckpoint(bad);
    } catch (e) {
      threw++;
    }
  }
  ok(threw === 6, 'malformed checkpoint texts are refused', `${threw} of 6`);
  ok(parseCheckpoint(`o\n7\n${r}\next\n`).size === 7, 'a checkpoint with an extension line parses');
}

// ---- what a real registry serves -----------------------------------------

// tests/ui/testdata/registry: a checkpoint, the audit entries it covers and
// every entry's inclusion proof, as optreg-server answered them (how:
// tests/ui/testdata/README). The page's whole check, as ui/audit.js does
// it: the checkpoint's signature, then for each event the leaf hash
// recomputed from the event JSON and the proof up to the checkpoint's root.
async function checkEntry(entry, proof, cp) {
  const leaf = await leafHash(canonicalBytes(entry.event));
  return toBase64(leaf) === entry.leaf_hash && proof.size === cp.size && proof.index === entry.index &&
         await verifyInclusion(entry.index, cp.size, leaf, proof.hashes.map(fromBase64), cp.root);
}

async function testRegistry() {
  const dir = join(HERE, 'registry');
  const note = readFileSync(join(dir, 'checkpoint.note'), 'utf8');
  const pub = await importPublicKeyPem(readFileSync(join(dir, 'registry-key.pub.pem'), 'utf8'));
  const cp = await verifyCheckpoint(note, pub);
  ok(cp.size > 0, `registry checkpoint (size ${cp.size}) verifies with the registry key ${pub.keyid.slice(0, 12)}`);
  const {entries} = JSON.parse(readFileSync(join(dir, 'entries.json'), 'utf8'));
  const proofs = JSON.parse(readFileSync(join(dir, 'proofs.json'), 'utf8'));
  const bad = [];
  for (let i = 0; i < entries.length; i++)
    if (!await checkEntry(entries[i], proofs[i], cp)) bad.push(entries[i].index);
  ok(entries.length === cp.size && bad.length === 0,
     `registry: all ${entries.length} events' leaf hashes recomputed from their JSON, and their proofs, verify`,
     `failed: ${bad.join(',')}`);

  // Tampered rows: a changed field, an added one, a reordered key (same
  // JSON value: still verifies, since the hash is of the canonical form),
  // another event's proof, a served leaf hash that is not the event's.
  const e = entries.find((x) => x.event.action === 'tag.moved') || entries[entries.length - 1];
  const p = proofs[e.index];
  const clone = () => JSON.parse(JSON.stringify(e));
  const t1 = clone();
  t1.event.target += 'x';
  const t2 = clone();
  t2.event.details.extra = 1;
  const t3 = clone();
  t3.event.actor.principal = 'someone-else@local';
  ok(!await checkEntry(t1, p, cp) && !await checkEntry(t2, p, cp) && !await checkEntry(t3, p, cp),
     'registry: an event with a changed target, an added detail or another actor fails');
  const reordered = clone();
  reordered.event = Object.fromEntries(Object.entries(e.event).reverse());
  ok(await checkEntry(reordered, p, cp), 'registry: the same event with its keys in another order still verifies');
  ok(!await checkEntry(e, proofs[(e.index + 1) % proofs.length], cp), "registry: another event's proof fails");
  const t4 = clone();
  t4.leaf_hash = entries[(e.index + 1) % entries.length].leaf_hash;
  ok(!await checkEntry(t4, p, cp), 'registry: a served leaf hash that is not the event\'s fails');
  const other = await importPublicKeyPem(readFileSync(join(HERE, 'other-key.pub.pem'), 'utf8'));
  ok(await rejects(verifyCheckpoint(note, other)), 'registry: the checkpoint fails with another key');
}

// ---- the page's verdict (ui/audit.js checkPage) ---------------------------

async function testPage() {
  const dir = join(HERE, 'registry');
  const note = readFileSync(join(dir, 'checkpoint.note'), 'utf8');
  const pem = readFileSync(join(dir, 'registry-key.pub.pem'), 'utf8');
  const otherPem = readFileSync(join(HERE, 'other-key.pub.pem'), 'utf8');
  const {entries} = JSON.parse(readFileSync(join(dir, 'entries.json'), 'utf8'));
  const proofs = JSON.parse(readFileSync(join(dir, 'proofs.json'), 'utf8'));
  let inFlight = 0;
  let maxInFlight = 0;
  const getProof = async (index, size) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 1));
    inFlight--;
    if (size !== proofs[index].size) throw new Error('no proof for that size here');
    return proofs[index];
  };
  const serverKeys = async () => [{public_key: otherPem}, {public_key: pem}];
  const states = (r) => r.rows.map((x) => x.state).join(',');
  const all = (r, st) => r.rows.every((x) => x.state === st);

  let r = await checkPage(note, pem, serverKeys, entries, getProof);
  ok(r.state === 'verified' && all(r, 'verified') && /pinned registry key/.test(r.sentence),
     'page: pinned key, untouched log: checkpoint and every row verified', `${r.state}: ${r.sentence} ${states(r)}`);
  ok(maxInFlight >= 2 && maxInFlight <= 4, `page: at most 4 proof requests in flight (saw ${maxInFlight})`);

  r = await checkPage(note, '', serverKeys, entries, getProof);
  ok(r.state === 'unpinned' && all(r, 'verified') && /not a pinned one/.test(r.sentence),
     'page: no pinned key: unpinned (checked against the listed keys), never verified', `${r.state}: ${r.sentence}`);

  // With a key pinned, the registry's own key list is never asked: one
  // served without the pinned key (or with only another) changes nothing.
  let asked = 0;
  r = await checkPage(note, pem, async () => { asked++; return [{public_key: otherPem}]; }, entries, getProof);
  ok(r.state === 'verified' && asked === 0, 'page: pinned key, the served key list without it: verified, the list never asked',
     `${r.state}, asked ${asked}`);
  r = await checkPage(note, otherPem, async () => { asked++; return [{public_key: pem}]; }, entries, getProof);
  ok(r.state === 'failed' && asked === 0 && all(r, 'failed'),
     'page: another key pinned, the served list holding the signer: failed, the list never asked', `${r.state}, asked ${asked}`);

  r = await checkPage(note, otherPem, serverKeys, entries, getProof);
  ok(r.state === 'failed' && all(r, 'failed'), 'page: the wrong pinned key: failed, and no row verified', `${r.state} ${states(r)}`);

  r = await checkPage(note, '', async () => [{public_key: otherPem}], entries, getProof);
  ok(r.state === 'failed', 'page: no pinned key and no listed key verifies: failed', r.state);

  r = await checkPage(note, 'garbage', serverKeys, entries, getProof);
  ok(r.state === 'failed' && /pinned registry key could not be used/.test(r.sentence), 'page: an unreadable pinned key: failed, saying why', r.sentence);

  // A tampered audit row, as the browser test makes one in PostgreSQL: the
  // server serves the changed event (with or without its stored leaf hash
  // changed to match), and proofs from the unchanged stored subtrees.
  const tampered = JSON.parse(JSON.stringify(entries));
  const k = tampered.findIndex((e) => e.event.action === 'tag.moved');
  tampered[k].event.details.to = 99;
  tampered[k].leaf_hash = toBase64(await leafHash(canonicalBytes(tampered[k].event)));
  r = await checkPage(note, pem, serverKeys, tampered, getProof);
  ok(r.state === 'failed' && r.rows[k].state === 'failed' && r.rows.filter((x) => x.state === 'verified').length === entries.length - 1 &&
     r.sentence.includes(`index ${tampered[k].index}`),
     'page: one changed event (leaf hash recomputed to match): that row and the status fail, the others verify', `${r.state}: ${r.sentence} ${states(r)}`);
  const relisted = JSON.parse(JSON.stringify(entries));
  relisted[3].leaf_hash = relisted[4].leaf_hash;
  r = await checkPage(note, pem, serverKeys, relisted, getProof);
  ok(r.state === 'failed' && r.rows[3].state === 'failed', 'page: a listed leaf hash that is not the event\'s fails', states(r));

  // A lying listing: an index that is no leaf number (left out, a string,
  // negative, a fraction) fails rather than passing for "newer than the
  // checkpoint"; so does one listed out of log order (twice).
  for (const bad of [undefined, null, String(entries[2].index), -1, 2.5, 1e300]) {
    const lied = JSON.parse(JSON.stringify(entries));
    lied[2].index = bad;
    if (bad === undefined) delete lied[2].index;
    r = await checkPage(note, pem, serverKeys, lied, getProof);
    ok(r.rows[2].state === 'failed' && r.state === 'failed',
       `page: an event listed with index ${JSON.stringify(bad)} fails, and so does the page's check`,
       `${r.state}: ${r.sentence} ${states(r)}`);
  }
  const twice = JSON.parse(JSON.stringify(entries));
  twice.splice(4, 0, JSON.parse(JSON.stringify(entries[3])));
  r = await checkPage(note, pem, serverKeys, twice, getProof);
  ok(r.state === 'failed' && r.rows[3].state === 'verified' && r.rows[4].state === 'failed' && /log order/.test(r.rows[4].reason),
     'page: an index listed twice fails the second time', `${r.state} ${states(r)}`);
  // A proof for another index than the one asked for.
  r = await checkPage(note, pem, serverKeys, entries, async (index, size) => getProof(index === 5 ? 6 : index, size));
  ok(r.state === 'failed' && r.rows[5].state === 'failed' && r.rows.filter((x) => x.state === 'verified').length === entries.length - 1,
     'page: the proof of another index fails that row', `${r.state} ${states(r)}`);

  // Events newer than the checkpoint are uncovered; none is failed.
  const newer = [...entries, {index: entries.length, leaf_hash: entries[0].leaf_hash, event: entries[0].event}];
  r = await checkPage(note, pem, serverKeys, newer, getProof);
  ok(r.state === 'verified' && r.rows[entries.length].state === 'uncovered' && /newer than the checkpoint/.test(r.sentence),
     'page: an event newer than the checkpoint is uncovered, the rest verified', `${r.state} ${states(r)}`);

  // The checkpoint this browser saw before: the registry's consistency
  // proofs from it (roots of the smaller trees recomputed here from the
  // listed leaf hashes) must show the new one extends it.
  const cons = JSON.parse(readFileSync(join(dir, 'consistency.json'), 'utf8'));
  const leaves = entries.map((e) => fromBase64(e.leaf_hash));
  const cp = await verifyCheckpoint(note, await importPublicKeyPem(pem));
  const getConsistency = async (from, to) => {
    const c = cons.find((x) => x.from === from && x.to === to);
    if (!c) throw new Error(`no consistency proof ${from}..${to} here`);
    return c;
  };
  let consistent = 0;
  for (const c of cons) {
    const seen = {origin: cp.origin, keyid: (await importPublicKeyPem(pem)).keyid, size: c.from,
                  root: toBase64(await rootOf(leaves.slice(0, c.from)))};
    r = await checkPage(note, pem, serverKeys, entries, getProof, undefined, {seen, getConsistency});
    if (r.state === 'verified' && r.history.state === 'verified' && r.history.remember && /extends the checkpoint of/.test(r.sentence)) consistent++;
  }
  ok(cons.length >= 3 && consistent === cons.length,
     `page: the checkpoint extends ones of ${cons.map((c) => c.from).join(', ')} events seen before (consistency proofs verify)`,
     `${consistent} of ${cons.length}`);
  const keyid = (await importPublicKeyPem(pem)).keyid;
  const forked = {origin: cp.origin, keyid, size: 10, root: toBase64(await rootOf([...leaves.slice(0, 9), leaves[12]]))};
  r = await checkPage(note, pem, serverKeys, entries, getProof, undefined, {seen: forked, getConsistency});
  ok(r.state === 'failed' && r.history.state === 'failed' && !r.history.remember && /rewritten/.test(r.sentence) && all(r, 'failed'),
     'page: a checkpoint that does not extend the one seen before (another 10-event tree): failed, not remembered', `${r.state}: ${r.sentence}`);
  r = await checkPage(note, pem, serverKeys, entries, getProof, undefined,
                      {seen: {origin: cp.origin, keyid, size: cp.size + 5, root: cp.rootB64}, getConsistency});
  ok(r.state === 'failed' && /rolled-back/.test(r.sentence), 'page: a checkpoint older than the one seen before: failed', r.sentence);
  r = await checkPage(note, pem, serverKeys, entries, getProof, undefined,
                      {seen: {origin: cp.origin, keyid, size: cp.size, root: toBase64(leaves[0])}, getConsistency});
  ok(r.state === 'failed', 'page: the same size seen before with another root: failed', r.sentence);
  // The same key under another origin is a new history that would forget
  // the old one: failed, not remembered (the page offers to forget it).
  r = await checkPage(note, pem, serverKeys, entries, getProof, undefined,
                      {seen: {origin: 'elsewhere/audit', keyid, size: 3, root: toBase64(leaves[0])}, getConsistency});
  ok(r.state === 'failed' && r.history.state === 'failed' && !r.history.remember && /origin/.test(r.sentence) && all(r, 'failed'),
     'page: the pinned key\'s checkpoint seen before under another origin: failed, not remembered', `${r.state}: ${r.sentence}`);
  r = await checkPage(note, pem, serverKeys, entries, getProof, undefined,
                      {seen: {origin: 'elsewhere/audit', keyid: 'ab'.repeat(32), size: 3, root: toBase64(leaves[0])}, getConsistency});
  ok(r.state === 'verified' && r.history.state === 'first' && r.history.remember,
     'page: a checkpoint seen before under another pinned key is not compared', r.state);
  r = await checkPage(note, '', serverKeys, entries, getProof, undefined, {seen: forked, getConsistency});
  ok(r.state === 'unpinned' && r.history === null, 'page: without a pinned key, nothing is compared or remembered', r.state);

  r = await checkPage(null, pem, serverKeys, entries, getProof);
  ok(r.state === 'none' && all(r, 'uncovered'), 'page: no checkpoint yet: none, rows uncovered', `${r.state} ${states(r)}`);

  r = await checkPage(note, pem, serverKeys, entries, async () => { throw new Error('500'); });
  ok(r.state === 'failed' && all(r, 'failed'), 'page: proofs the registry will not give: failed', r.state);
}

// A group that throws counts as one failure and the rest still run.
for (const group of [testJcs, testMerkle, testNotes, testRegistry, testPage]) {
  try {
    await group();
  } catch (e) {
    ok(false, `${group.name} threw`, e && e.stack ? e.stack : e);
  }
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
