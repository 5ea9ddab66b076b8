// ui/note.js: C2SP signed notes and tlog checkpoints, checked in the
// browser with WebCrypto's Ed25519 (common/note.c on the C side).
//
// A signed note is a text ending in a newline, a blank line, and signature
// lines "\u2014 <key name> <base64(4-byte key hash || 64-byte signature)>".
// The key hash is the first 4 bytes of SHA-256(name || "\n" || 0x01 ||
// 32-byte public key); the signature is Ed25519 over the text (its final
// newline included). A checkpoint's text is "<origin>\n<size>\n<base64
// root>\n" (then optional extension lines), signed under its origin.
// No DOM: tests/ui/crypto_test.mjs runs these in node.
import {equalBytes, fromBase64, toHex} from './merkle.js';

const SPKI_ED25519 = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);
const MAX_SIGS = 100;

// A problem with a note or key, with a sentence for the page.
export class NoteError extends Error {}

// importPublicKeyPem(pem) -> {key (CryptoKey), raw (32 bytes), der (SPKI),
// keyid (64 hex: SHA-256 of the SPKI DER, as the registry names keys)}.
// Only Ed25519 SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY") is accepted.
export async function importPublicKeyPem(pem) {
  const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(String(pem || ''));
  if (!m) throw new NoteError('not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  let der;
  try {
    der = fromBase64(m[1].replace(/\s+/g, ''));
  } catch (e) {
    throw new NoteError('the PEM public key is not valid base64');
  }
  if (der.length !== 44 || !equalBytes(der.subarray(0, 12), SPKI_ED25519))
    throw new NoteError('the public key is not an Ed25519 key');
  const key = await globalThis.crypto.subtle.importKey('spki', der, {name: 'Ed25519'}, false, ['verify']);
  const keyid = toHex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', der)));
  return {key, raw: der.slice(12), der, keyid};
}

// The 4-byte key hash of (name, 32-byte Ed25519 public key).
export async function keyHash(name, raw) {
  const n = new TextEncoder().encode(name);
  const buf = new Uint8Array(n.length + 2 + raw.length);
  buf.set(n, 0);
  buf[n.length] = 0x0a;
  buf[n.length + 1] = 0x01;
  buf.set(raw, n.length + 2);
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', buf)).slice(0, 4);
}

// A name may not be empty or hold white space, a control character or '+'.
function validName(name) {
  return name.length > 0 && !/[\s\u0000-\u001f\u007f+\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name);
}

// parseNote(note) -> {text, sigs: [{name, hash (4 bytes), sig (bytes)}]}.
// Throws NoteError when the note is malformed (no blank line before the
// signatures, a signature line that is not one, control characters).
export function parseNote(note) {
  if (typeof note !== 'string') throw new NoteError('the note is not text');
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(note)) throw new NoteError('the note holds a control character');
  const at = note.lastIndexOf('\n\n');
  if (at < 0 || !note.endsWith('\n')) throw new NoteError('the note has no blank line before its signatures');
  const text = note.slice(0, at + 1);
  const lines = note.slice(at + 2, -1).split('\n');
  if (lines.length > MAX_SIGS) throw new NoteError(`the note has more than ${MAX_SIGS} signatures`);
  const sigs = lines.map((line, i) => {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/u.exec(line);
    let bytes = null;
    if (m && validName(m[1])) {
      try {
        bytes = fromBase64(m[2]);
      } catch (e) {
        bytes = null;
      }
    }
    if (!bytes || bytes.length < 5) throw new NoteError(`signature line ${i + 1} is malformed`);
    return {name: m[1], hash: bytes.slice(0, 4), sig: bytes.slice(4)};
  });
  return {text, sigs};
}

// parseCheckpoint(text) -> {origin, size, root (32 bytes), rootB64}.
export function parseCheckpoint(text) {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new NoteError('the checkpoint has fewer than three lines');
  const [origin, size, root] = lines;
  if (!origin) throw new NoteError('the checkpoint has no origin');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw new NoteError(`the checkpoint size "${size}" is not a number`);
  let r;
  try {
    r = fromBase64(root);
  } catch (e) {
    r = null;
  }
  if (!r || r.length !== 32) throw new NoteError('the checkpoint root is not 32 bytes of base64');
  if (lines.slice(3, -1).some((l) => l === '')) throw new NoteError('the checkpoint has an empty extension line');
  return {origin, size: Number(size), root: r, rootB64: root};
}

// openNote(note, name, pub) -> the note's text, when it carries a
// signature by (name, pub) and every such signature verifies. `pub` is
// what importPublicKeyPem answers. Throws NoteError saying why not. As the
// spec asks, signatures by other keys are ignored.
export async function openNote(note, name, pub) {
  const {text, sigs} = parseNote(note);
  const want = await keyHash(name, pub.raw);
  const mine = sigs.filter((s) => s.name === name && equalBytes(s.hash, want));
  if (mine.length === 0) {
    const by = sigs.map((s) => `${s.name}+${toHex(s.hash)}`).join(', ');
    throw new NoteError(`no signature by ${name}+${toHex(want)} (signed by ${by})`);
  }
  const data = new TextEncoder().encode(text);
  for (const s of mine) {
    const ok = s.sig.length === 64 &&
               await globalThis.crypto.subtle.verify({name: 'Ed25519'}, pub.key, s.sig, data);
    if (!ok) throw new NoteError(`the signature by ${name}+${toHex(want)} does not verify`);
  }
  return text;
}

// verifyCheckpoint(note, pub) -> the parsed checkpoint, with `keyHash`
// (8 hex), once its signature under its own origin verifies with `pub`.
// Throws NoteError otherwise.
export async function verifyCheckpoint(note, pub) {
  const {text} = parseNote(note);
  const origin = text.slice(0, text.indexOf('\n'));
  const cp = parseCheckpoint(await openNote(note, origin, pub));
  cp.keyHash = toHex(await keyHash(origin, pub.raw));
  return cp;
}
