// ui/merkle.js: the RFC 9162 (RFC 6962) Merkle tree hashes the audit log
// uses (common/merkle.c on the C side), with WebCrypto's SHA-256:
//   leaf hash = SHA-256(0x00 || leaf bytes)
//   node hash = SHA-256(0x01 || left || right)
// and the inclusion proof check of RFC 9162 section 2.1.3.2. No DOM.

async function sha256(bytes) {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
}

function prefixed(tag, ...parts) {
  const out = new Uint8Array(1 + parts.reduce((n, p) => n + p.length, 0));
  out[0] = tag;
  let at = 1;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function leafHash(bytes) {
  return sha256(prefixed(0x00, bytes));
}

export function nodeHash(left, right) {
  return sha256(prefixed(0x01, left, right));
}

export function equalBytes(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

// Standard padded base64 <-> bytes (the API's hashes). A malformed string
// throws, and so does a non-canonical one (unused bits set in the last
// character), so one value has one spelling.
export function fromBase64(b64) {
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0)
    throw new Error('malformed base64');
  const bin = atob(b64);
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (toBase64(out) !== b64) throw new Error('non-canonical base64');
  return out;
}

export function toBase64(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// MTH(D[n]) of RFC 9162 section 2.1.1 over a list of leaf hashes (the
// tests recompute reference roots with it; the page never holds a whole
// log). The empty tree's root is SHA-256 of nothing.
export async function rootOf(leaves) {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(await rootOf(leaves.slice(0, k)), await rootOf(leaves.slice(k)));
}

// The root an inclusion proof leads to (RFC 9162 section 2.1.3.2), or
// throws when the proof cannot be one for leaf `index` of a tree of
// `size` leaves (bad index or size, wrong number of hashes, a hash that
// is not 32 bytes).
export async function rootFromInclusion(index, size, leaf, proof) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    throw new Error(`index ${index} is not in a tree of ${size}`);
  if (!(leaf instanceof Uint8Array) || leaf.length !== 32) throw new Error('the leaf hash is not 32 bytes');
  const path = proof || [];
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (!(p instanceof Uint8Array) || p.length !== 32) throw new Error('a proof hash is not 32 bytes');
    if (sn === 0) throw new Error('the proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        // right-shift until the lowest bit of fn is set (or fn is 0)
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error('the proof is too short');
  return r;
}

// true when `proof` shows that `leaf` is leaf `index` of the tree of
// `size` leaves whose root is `root`; false otherwise (never throws).
export async function verifyInclusion(index, size, leaf, proof, root) {
  try {
    return equalBytes(await rootFromInclusion(index, size, leaf, proof), root);
  } catch (e) {
    return false;
  }
}

// true when `proof` shows that the tree of `size1` leaves with root
// `root1` is a prefix of the tree of `size2` leaves with root `root2`
// (RFC 9162 section 2.1.4.2; equal sizes need equal roots and no proof;
// an empty old tree proves nothing and is refused, as the API refuses it).
// Never throws.
export async function verifyConsistency(size1, size2, root1, root2, proof) {
  try {
    if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size1 > size2) return false;
    const path = proof || [];
    if (path.some((p) => !(p instanceof Uint8Array) || p.length !== 32)) return false;
    if (size1 === size2) return path.length === 0 && equalBytes(root1, root2);
    if (path.length === 0) return false;
    // When the old tree is complete (a power of two), its root is the
    // first node of the path; otherwise the path starts with it.
    let m = size1;
    while (m % 2 === 0) m /= 2;
    const p = m === 1 ? [root1, ...path] : path;
    let fn = size1 - 1;
    let sn = size2 - 1;
    while (fn % 2 === 1) {
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    let fr = p[0];
    let sr = p[0];
    for (const c of p.slice(1)) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
  } catch (e) {
    return false;
  }
}
