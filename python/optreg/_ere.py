"""POSIX extended regular expressions as the runner matches parameter names.

The runner (and the validator) compile `spec.param_groups[i].match` with
glibc's regcomp(REG_EXTENDED | REG_NOSUB) in the C locale and search it
anywhere in the name with regexec. Python's `re` reads some of that syntax
differently (`\\d`, `[\\]]`, `a**`, `$` before a newline, `{,}`...), so a
pattern is not handed to `re` as written: it is parsed here as glibc parses
it and rewritten into an equivalent `re` pattern over bytes (names are
matched as their UTF-8 bytes, byte by byte, as in the C locale). glibc's
^ and $ also match next to a newline that the pattern itself consumes
(its matcher takes a consumed newline for a line boundary even without
REG_NEWLINE); Pattern.search reproduces that for names with a newline.

What glibc refuses is refused here too (ValueError), and so is what
optreg's validator refuses before compiling (validator/regex_check.h:
patterns over 256 bytes, backreferences, {m,n} counts above 255, nested
bounds, + and {m,n} nested more than 3 deep). The few constructs whose C-locale meaning is not certain
(non-ASCII range ends in a bracket expression) are refused with a message
that says so rather than guessed at.
"""

import re

MAX_LEN = 256
MAX_REPEAT = 255
MAX_COPY_NEST = 3  # OPTREG_REGEX_MAX_COPY_NEST
DUP_MAX = 0x7FFF  # RE_DUP_MAX

_WORD = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_WORD_CLASS = b"[0-9A-Za-z_]"

# The C locale's character classes (ASCII only).
_CLASSES = {
    "alpha": set(range(ord("a"), ord("z") + 1)) | set(range(ord("A"), ord("Z") + 1)),
    "digit": set(range(ord("0"), ord("9") + 1)),
    "upper": set(range(ord("A"), ord("Z") + 1)),
    "lower": set(range(ord("a"), ord("z") + 1)),
    "space": set(b" \t\n\v\f\r"),
    "blank": set(b" \t"),
    "cntrl": set(range(0, 32)) | {127},
    "print": set(range(32, 127)),
    "graph": set(range(33, 127)),
    "xdigit": set(b"0123456789abcdefABCDEF"),
}
_CLASSES["alnum"] = _CLASSES["alpha"] | _CLASSES["digit"]
_CLASSES["punct"] = _CLASSES["graph"] - _CLASSES["alnum"]


class PatternError(ValueError):
    """A pattern that glibc or optreg refuses, or that cannot be carried
    over exactly."""

    def __init__(self, pattern, why):
        self.pattern = pattern
        self.why = why
        super().__init__("param group pattern %r: %s" % (pattern, why))


def regex_check(pattern):
    """validator/regex_check.c: None when the pattern may be compiled, else
    the sentence saying what optreg refuses."""
    re_ = pattern.encode("utf-8", "surrogateescape") if isinstance(pattern, str) else pattern
    n = len(re_)
    if n > MAX_LEN:
        return "is longer than 256 characters"
    stack = []
    here = False
    last_group_bound = False
    # How deep the repetitions that copy what they repeat (+, {m,n}) nest,
    # at this level and in the atom just before (as repeated so far).
    here_copies = 0
    last_copies = 0
    i = 0

    def at(k):
        return re_[k] if k < n else 0

    while i < n:
        ch = re_[i]
        if ch == 0x5C:  # backslash
            if 0x31 <= at(i + 1) <= 0x39:
                return "uses a backreference (\\1 .. \\9)"
            i += 2 if at(i + 1) else 1
            last_group_bound = False
            last_copies = 0
        elif ch == 0x5B:  # [
            i = _check_skip_bracket(re_, i)
            last_group_bound = False
            last_copies = 0
        elif ch == 0x28:  # (
            stack.append((here, here_copies))
            here = False
            here_copies = 0
            last_group_bound = False
            last_copies = 0
            i += 1
        elif ch == 0x29:  # )
            inner = here
            inner_copies = here_copies
            if stack:
                outer, outer_copies = stack.pop()
                here = outer or inner
                here_copies = max(outer_copies, here_copies)
            last_group_bound = inner
            last_copies = inner_copies
            i += 1
        elif ch == 0x7B:  # {
            end, too_big = _check_read_bound(re_, i)
            if end == i:
                last_group_bound = False
                last_copies = 0
                i += 1
                continue
            if too_big:
                return "repeats more than 255 times in a {m,n} bound"
            if last_group_bound:
                return "nests a {m,n} bound inside another"
            last_copies += 1
            if last_copies > MAX_COPY_NEST:
                return "nests + and {m,n} repetitions more than 3 deep"
            here_copies = max(here_copies, last_copies)
            here = True
            i = end
        elif ch == 0x2B:  # +
            last_copies += 1
            if last_copies > MAX_COPY_NEST:
                return "nests + and {m,n} repetitions more than 3 deep"
            here_copies = max(here_copies, last_copies)
            i += 1
        else:
            if ch not in b"*?":
                last_group_bound = False
                last_copies = 0
            i += 1
    return None


def _check_skip_bracket(re_, i):
    n = len(re_)

    def at(k):
        return re_[k] if k < n else 0

    i += 1
    if at(i) == 0x5E:
        i += 1
    if at(i) == 0x5D:
        i += 1
    while at(i) and at(i) != 0x5D:
        if at(i) == 0x5B and at(i + 1) in b":.=":
            end = at(i + 1)
            close = None
            k = i + 2
            while at(k) and at(k + 1):
                if at(k) == end and at(k + 1) == 0x5D:
                    close = k
                    break
                k += 1
            if close is not None:
                i = close + 2
                continue
        i += 1
    return i + 1 if at(i) else i


def _check_read_bound(re_, i):
    n = len(re_)

    def at(k):
        return re_[k] if k < n else 0

    k = i + 1
    anyd = False
    too_big = False
    for part in range(2):
        v = 0
        start = k
        while 0x30 <= at(k) <= 0x39:
            if v <= MAX_REPEAT:
                v = v * 10 + at(k) - 0x30
            k += 1
        if k > start:
            anyd = True
            if v > MAX_REPEAT:
                too_big = True
        if part == 0 and at(k) == 0x2C:
            k += 1
        else:
            break
    if at(k) != 0x7D or not anyd:
        return i, False
    return k + 1, too_big


def _class_of(byteset):
    """A `re` bytes pattern matching exactly one byte of `byteset`."""
    if not byteset:
        return b"(?!)"
    vals = sorted(byteset)
    parts = []
    start = prev = vals[0]
    for v in vals[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        if start == prev:
            parts.append(b"\\x%02x" % start)
        else:
            parts.append(b"\\x%02x-\\x%02x" % (start, prev))
        if v is not None:
            start = prev = v
    return b"[" + b"".join(parts) + b"]"


def _lit(c):
    return b"\\x%02x" % c


class _Parser:
    def __init__(self, pattern, raw, loose=False):
        self.pattern = pattern
        self.s = raw
        self.i = 0
        self.loose = loose  # ^ and $ also next to a newline (Pattern.search)
        self.line_anchor = False  # the pattern has ^ or $

    def fail(self, why):
        raise PatternError(self.pattern, why)

    def peek(self, k=0):
        j = self.i + k
        return self.s[j] if j < len(self.s) else None

    # regexp: branch ('|' branch)*
    def regexp(self, nest):
        branches = [self.branch(nest)]
        while self.peek() == 0x7C:
            self.i += 1
            branches.append(self.branch(nest))
        return b"|".join(branches)

    def branch(self, nest):
        out = []
        while True:
            c = self.peek()
            if c is None or c == 0x7C or (c == 0x29 and nest > 0):
                break
            out.append(self.expression(nest))
        return b"".join(out)

    def expression(self, nest):
        c = self.peek()
        anchor = False
        if c in (0x2A, 0x2B, 0x3F, 0x7B):  # * + ? { with nothing before
            self.fail("a repetition operator (%s) has nothing before it to "
                      "repeat: glibc refuses it (\"Invalid preceding regular "
                      "expression\"); escape it, e.g. \\%s" % (chr(c), chr(c)))
        if c == 0x28:  # (
            self.i += 1
            inner = self.regexp(nest + 1)
            if self.peek() != 0x29:
                self.fail("a ( has no matching ) (glibc: \"Unmatched ( or \\(\")")
            self.i += 1
            atom = b"(?:" + inner + b")"
        elif c == 0x5B:  # [
            atom = self.bracket()
        elif c == 0x2E:  # .  (any byte but NUL: RE_DOT_NOT_NULL)
            self.i += 1
            atom = b"[\\x01-\\xff]"
        elif c == 0x5E:  # ^ is an anchor anywhere in an ERE
            self.i += 1
            self.line_anchor = True
            atom, anchor = b"(?:\\A|(?<=\\n))" if self.loose else b"\\A", True
        elif c == 0x24:  # $ too; \Z, since re's $ also matches before "\n"
            self.i += 1
            self.line_anchor = True
            atom, anchor = b"(?:\\Z|(?=\\n))" if self.loose else b"\\Z", True
        elif c == 0x5C:
            atom, anchor = self.escape()
        else:  # an ordinary byte, ) } ] included
            self.i += 1
            atom = _lit(c)
        if anchor:
            # glibc: an anchor cannot be repeated; the operator then has
            # nothing before it.
            if self.peek() in (0x2A, 0x2B, 0x3F, 0x7B):
                self.fail("an anchor (^, $, \\b, \\<, ...) cannot be repeated: "
                          "glibc refuses %r after it" % chr(self.peek()))
            return atom
        while True:
            c = self.peek()
            if c == 0x2A:
                q = b"*"
                self.i += 1
            elif c == 0x2B:
                q = b"+"
                self.i += 1
            elif c == 0x3F:
                q = b"?"
                self.i += 1
            elif c == 0x7B:
                q = self.interval()
            else:
                break
            # Stacked operators (a**, a+?) repeat the repetition in glibc;
            # re would read `*?` as lazy and `*+` as possessive.
            atom = b"(?:" + atom + b")" + q
        return atom

    def interval(self):
        """{m}, {m,}, {,n}, {m,n} (glibc: {,n} is {0,n}, {,} is *)."""
        s = self.s
        j = self.i + 1

        def number(j):
            start = j
            v = 0
            while j < len(s) and 0x30 <= s[j] <= 0x39:
                v = min(v * 10 + s[j] - 0x30, DUP_MAX + 1)
                j += 1
            return (v if j > start else None), j

        lo, j = number(j)
        hi = lo
        if j < len(s) and s[j] == 0x2C:
            hi, j = number(j + 1)
            if lo is None:
                lo = 0
        if j >= len(s):
            self.fail("a { bound is not closed (glibc: \"Unmatched \\{\")")
        if s[j] != 0x7D or lo is None:
            self.fail("a { is not a valid bound {m}, {m,}, {,n} or {m,n} "
                      "(glibc: \"Invalid content of \\{\\}\"); write \\{ for "
                      "a literal {")
        if lo > DUP_MAX or (hi is not None and hi > DUP_MAX):
            self.fail("a {m,n} count is too large")
        if hi is not None and hi < lo:
            self.fail("a {m,n} bound has m > n (glibc: \"Invalid content "
                      "of \\{\\}\")")
        self.i = j + 1
        if hi is None:
            return b"{%d,}" % lo
        if hi == lo:
            return b"{%d}" % lo
        return b"{%d,%d}" % (lo, hi)

    def escape(self):
        """A backslash outside brackets: glibc's GNU operators, else the
        next byte literally (so \\d is "d" and \\. is ".")."""
        c = self.peek(1)
        if c is None:
            self.fail("the pattern ends in a lone backslash (glibc: "
                      "\"Trailing backslash\")")
        self.i += 2
        w = _WORD_CLASS
        if c == ord("w"):
            return w, False
        if c == ord("W"):
            return b"[^0-9A-Za-z_]", False
        if c == ord("s"):
            return _class_of(_CLASSES["space"]), False
        if c == ord("S"):
            return _class_of(set(range(256)) - _CLASSES["space"]), False
        if c == ord("b"):
            return b"(?:(?<=" + w + b")(?!" + w + b")|(?<!" + w + b")(?=" + w + b"))", True
        if c == ord("B"):
            return b"(?:(?<=" + w + b")(?=" + w + b")|(?<!" + w + b")(?!" + w + b"))", True
        if c == ord("<"):
            return b"(?<!" + w + b")(?=" + w + b")", True
        if c == ord(">"):
            return b"(?<=" + w + b")(?!" + w + b")", True
        if c == ord("`"):
            return b"\\A", True
        if c == ord("'"):
            return b"\\Z", True
        if 0x31 <= c <= 0x39:
            self.fail("uses a backreference (\\1 .. \\9)")
        return _lit(c), False

    def bracket(self):
        """A bracket expression, turned into the exact set of bytes it
        matches in the C locale."""
        self.i += 1
        neg = False
        if self.peek() == 0x5E:
            neg = True
            self.i += 1
        members = set()
        first = True
        while True:
            c = self.peek()
            if c is None:
                self.fail("a [ has no matching ] (glibc: \"Unmatched [, [^, "
                          "[:, [., or [=\")")
            if c == 0x5D and not first:
                self.i += 1
                break
            kind, val = self.bracket_element(accept_hyphen=first)
            first = False
            # A range: element '-' element, unless the '-' is the last
            # character before ']'; a class cannot start one.
            if (kind == "char" and self.peek() == 0x2D
                    and self.peek(1) is not None and self.peek(1) != 0x5D):
                self.i += 1
                kind2, val2 = self.bracket_element(accept_hyphen=True)
                if kind != "char" or kind2 != "char":
                    self.fail("a range in [...] must run between two "
                              "characters (glibc: \"Invalid range end\")")
                if val > 0x7F or val2 > 0x7F:
                    self.fail("a range in [...] has a non-ASCII end, whose "
                              "order in glibc's C locale is not carried "
                              "over; list the characters instead")
                if val2 < val:
                    self.fail("a range in [...] runs backwards (%s-%s; glibc: "
                              "\"Invalid range end\")" % (chr(val), chr(val2)))
                members.update(range(val, val2 + 1))
            elif kind == "char":
                members.add(val)
            else:
                members.update(val)
        if neg:
            members = set(range(1, 256)) - members
        else:
            members.discard(0)
        return _class_of(members)

    def bracket_element(self, accept_hyphen):
        c = self.peek()
        if c == 0x2D and not accept_hyphen and self.peek(1) != 0x5D:
            self.fail("a - in [...] that is neither first, last nor "
                      "between the two ends of a range (glibc: \"Invalid "
                      "range end\"); put it first or last")
        if c == 0x5B and self.peek(1) in (0x3A, 0x2E, 0x3D):
            kind = self.peek(1)
            j = self.i + 2
            close = None
            while j + 1 < len(self.s):
                if self.s[j] == kind and self.s[j + 1] == 0x5D:
                    close = j
                    break
                j += 1
            if close is None:
                self.fail("a [%s in [...] is not closed by %s] (glibc: "
                          "\"Unmatched [, [^, [:, [., or [=\")" % (chr(kind), chr(kind)))
            name = self.s[self.i + 2:close]
            self.i = close + 2
            if kind == 0x3A:
                cls = _CLASSES.get(name.decode("latin-1"))
                if cls is None:
                    self.fail("[:%s:] is not a character class (glibc: "
                              "\"Invalid character class name\")"
                              % name.decode("latin-1"))
                return "class", cls
            if len(name) != 1:
                self.fail("[%s%s%s] names a collating element, which the C "
                          "locale does not have (glibc: \"Invalid collation "
                          "character\")" % (chr(kind), name.decode("latin-1"), chr(kind)))
            if kind == 0x3D:
                return "class", {name[0]}
            return "char", name[0]
        self.i += 1
        return "char", c


def _translate(pattern, loose=False):
    if isinstance(pattern, bytes):
        raw = pattern
    else:
        raw = pattern.encode("utf-8", "surrogateescape")
    if 0 in raw:
        raise PatternError(pattern, "contains a NUL byte")
    why = regex_check(raw)
    if why:
        raise PatternError(pattern, "is refused by optreg: the pattern " + why)
    p = _Parser(pattern, raw, loose)
    out = p.regexp(0)
    if p.i != len(raw):  # only a ')' can stop the top level early
        p.fail("unexpected character at byte %d" % p.i)
    return out, p.line_anchor


def translate(pattern):
    """The `re` bytes pattern that matches exactly what glibc's regexec
    finds `pattern` in (searching, C locale, REG_EXTENDED | REG_NOSUB) in
    names without a newline, or PatternError; see Pattern.search."""
    return _translate(pattern)[0]


class Pattern:
    """A compiled pattern; search(name) answers as glibc's regexec."""

    def __init__(self, pattern):
        out, self.line_anchor = _translate(pattern)
        self.pattern = pattern
        self.rx = re.compile(out)
        self._windowed = None

    def search(self, name):
        """True when the pattern is found anywhere in `name` (str or bytes).

        glibc without REG_NEWLINE has ^ match only at the start of the
        name and $ only at its end, except next to a newline that the
        pattern itself consumes: its matcher then takes the newline for a
        line boundary (`$\\n`, `\\n^a` and `.^a` are found in "b\\na", `a$`
        is not found in "a\\nb", nor `^b`). For a name with a newline and a
        pattern with ^ or $, every (start, end) window is tried with ^ as
        "start or after a newline" and $ as "end or before a newline", the
        window's neighbours replaced by stand-ins of the same word class
        that are not newlines, so that only a newline inside the match
        counts, as in glibc."""
        b = name_bytes(name)
        if not (self.line_anchor and 0x0A in b):
            return self.rx.search(b) is not None
        if self._windowed is None:
            loose = _translate(self.pattern, loose=True)[0]
            self._windowed = (re.compile(b"(?:" + loose + b")(?=[a\\x01]\\Z)"),
                              re.compile(b"(?:" + loose + b")\\Z"))
        mid, end = self._windowed
        n = len(b)

        def stand_in(c):
            return b"a" if c in _WORD else b"\x01"

        for i in range(n + 1):
            left = stand_in(b[i - 1]) if i else b""
            for e in range(i, n + 1):
                if e == n:
                    t, rx = left + b[i:], end
                else:
                    t, rx = left + b[i:e] + stand_in(b[e]), mid
                if rx.match(t, len(left)):
                    return True
        return False


_cache = {}


def compile(pattern):
    """A Pattern for `pattern` (see translate() and Pattern.search)."""
    rx = _cache.get(pattern)
    if rx is None:
        rx = Pattern(pattern)
        if len(_cache) < 1024:
            _cache[pattern] = rx
    return rx


def name_bytes(name):
    return name.encode("utf-8", "surrogateescape") if isinstance(name, str) else bytes(name)


def search(pattern, name):
    """True when `pattern` is found anywhere in `name`, as regexec finds it."""
    return compile(pattern).search(name)
