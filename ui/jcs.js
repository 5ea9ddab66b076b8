// ui/jcs.js: RFC 8785 (JSON Canonicalization Scheme) in the browser, the
// form the registry hashes its audit events in (validator/jcs.c on the C
// side). Pure functions: no DOM, so tests/ui/crypto_test.mjs runs them in
// node.

// Lone UTF-16 surrogates cannot be encoded as UTF-8; RFC 8785 section 3.2.2.2
// makes them an error rather than a replacement character.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function str(s) {
  if (LONE_SURROGATE.test(s)) throw new Error('jcs: string with a lone surrogate');
  // ES2019 JSON.stringify escapes exactly as RFC 8785 section 3.2.2.2 asks:
  // \" \\ \b \f \n \r \t, other controls as \u00xx (lowercase), all else as is.
  return JSON.stringify(s);
}

// RFC 8785 section 3.2.2.3: the ECMAScript Number serialization, which is
// what String(n) does for finite numbers (-0 becomes "0").
function num(n) {
  if (!Number.isFinite(n)) throw new Error(`jcs: ${n} is not a JSON number`);
  return Object.is(n, -0) ? '0' : String(n);
}

// canonicalize(value) -> the canonical JSON text of a parsed JSON value
// (objects, arrays, strings, finite numbers, true, false, null). Object
// members are sorted by their names' UTF-16 code units (section 3.2.3),
// which is what the default Array.prototype.sort compares.
export function canonicalize(v) {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return num(v);
    case 'string':
      return str(v);
    case 'object':
      if (Array.isArray(v)) return '[' + v.map(canonicalize).join(',') + ']';
      return '{' + Object.keys(v).sort().map((k) => str(k) + ':' + canonicalize(v[k])).join(',') + '}';
    default:
      throw new Error(`jcs: a ${typeof v} is not JSON`);
  }
}

// The canonical form's UTF-8 bytes: what the registry hashes.
export function canonicalBytes(v) {
  return new TextEncoder().encode(canonicalize(v));
}
