"""RFC 8785 (JSON Canonicalization Scheme) in Python, as validator/jcs.h
writes it: the bytes optreg digests and signs.

- objects: members sorted by the UTF-16 code units of their names, at every
  depth; arrays keep their order; no whitespace;
- strings: UTF-8, escaping only what JSON requires (\\" \\\\ \\b \\f \\n \\r
  \\t and \\u00xx, lowercase, for the other control characters);
- numbers: IEEE 754 doubles written as ECMAScript's Number.prototype.toString
  writes them (shortest round-trip digits, 1e-7 below 1e-6, 1e+21 from
  1e21 up, -0 as 0); integers are taken as doubles, as the registry does;
- NaN, infinities, numbers that overflow a double, lone surrogates and
  duplicate member names are refused (ValueError).
"""

import hashlib
import json
import math


class CanonicalError(ValueError):
    """A value that has no canonical form."""


def number(x):
    """ECMAScript's Number.prototype.toString of the double `x`."""
    if isinstance(x, bool):
        raise CanonicalError("a boolean is not a number")
    if isinstance(x, int):
        try:
            x = float(x)
        except OverflowError:
            raise CanonicalError("the integer %d overflows a double" % x) from None
    if not math.isfinite(x):
        raise CanonicalError("%r is not a finite number" % x)
    if x == 0:
        return "0"
    if x < 0:
        return "-" + number(-x)
    mant, _, exp = repr(x).partition("e")
    ip, _, fp = mant.partition(".")
    allds = ip + fp
    digits = allds.lstrip("0")
    n = len(ip) + (int(exp) if exp else 0) - (len(allds) - len(digits))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return "%se%s%d" % (head, "+" if e >= 0 else "-", abs(e))


def _string(s):
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalError("a string holds a lone surrogate") from None
    return json.dumps(s, ensure_ascii=False)


def _write(v, out):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, (int, float)):
        out.append(number(v))
    elif isinstance(v, str):
        out.append(_string(v))
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(v, dict):
        for k in v:
            if not isinstance(k, str):
                raise CanonicalError("an object member name is not a string: %r" % (k,))
        out.append("{")
        keys = sorted(v, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        for i, k in enumerate(keys):
            if i:
                out.append(",")
            out.append(_string(k))
            out.append(":")
            _write(v[k], out)
        out.append("}")
    else:
        raise CanonicalError("%s is not a JSON value" % type(v).__name__)


def canonicalize(value):
    """The canonical bytes of a JSON value (dict, list, str, int, float,
    bool, None)."""
    out = []
    _write(value, out)
    return "".join(out).encode("utf-8")


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise CanonicalError("duplicate member name %s" % json.dumps(k))
        d[k] = v
    return d


def _no_constant(name):
    raise CanonicalError("%s is not a JSON number" % name)


def loads(data):
    """Parses JSON text (bytes or str) as optreg does: duplicate member
    names, NaN and infinities are refused."""
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode("utf-8")
    return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def digest(data):
    """"sha256:<hex>" of bytes (the digest of canonical bytes)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()
