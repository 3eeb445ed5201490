#!/usr/bin/env python3
"""man_errors.py - the error codes of the man pages agree with the library.

Part of tests/check_man.sh. Two checks:

1. Every code a function's comment in include/netkit.h lists after "Errors:"
   (NK_ENULL, NK_EAI(...), -ECONNREFUSED, ...; "as nk_xxx" takes nk_xxx's
   list) is named in the ERRORS section of the page that documents the
   function (docs/man/<function>.3, or the page its .so alias points to).
2. Every message quoted after a code in a page, such as
   .B NK_EPORT
   ("port must be 0\\-65535."),
   is exactly what nk_strerror() returns for that code. The messages are
   taken from every .TP item (and the rows of the table netkit.7 has) of
   every page, in every section, that names a concrete code and quotes text.

Usage: man_errors.py MANDIR HEADER CC CFLAGS... -- LINK_ARGS...
Prints one line per problem and a summary; exits 1 when there is a problem.
"""
import os
import re
import subprocess
import sys
import tempfile

OWN_RE = re.compile(r"XX\((\w+),\s*(-?\d+),\s*(\w+),")


def unescape(text):
    """troff text to plain text, for the escapes these pages use."""
    for esc, plain in (("\\-", "-"), ("\\ ", " "), ("\\(aq", "'"), ("\\(dq", '"'),
                       ("\\&", ""), ("\\e", "\\"), ("\\(em", "--"), ("\\(en", "-")):
        text = text.replace(esc, plain)
    return re.sub(r"\\f[BIRP]", "", text)


def own_codes(header_text):
    return ["NK_" + m.group(1) for m in OWN_RE.finditer(header_text)]


def header_errors(header_text, own):
    """{function: set of codes} from the comments above the NK_EXTERN lines."""
    code_re = re.compile(r"NK_EAI\(|NK_EHOST\(|\b(?:%s)\b|-E[A-Z0-9]+\b" % "|".join(own))
    decls, refs = {}, {}
    comment, in_comment = None, False
    lines = header_text.split("\n")
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if in_comment:
            comment.append(stripped)
            in_comment = "*/" not in stripped
        elif stripped.startswith("/*"):
            comment = [stripped]
            in_comment = "*/" not in stripped
        elif stripped.startswith("NK_EXTERN"):
            # The comment above applies to this and the declarations right after it.
            decl = stripped
            while ";" not in decl and i + 1 < len(lines):
                i += 1
                decl += " " + lines[i].strip()
            fn = re.search(r"(nk_\w+)\(", decl).group(1)
            text = " ".join(comment or [])
            errors = text.split("Errors:", 1)[1] if "Errors:" in text else ""
            decls[fn] = {tok.rstrip("(") for tok in code_re.findall(errors)}
            refs[fn] = re.findall(r"\bas (nk_\w+)", errors)
        else:
            comment = None  # a blank line or other code ends the comment's reach
        i += 1
    # "as nk_xxx": the referenced function's codes too (one level is enough
    # for this header, two are allowed).
    for _ in range(2):
        for fn, targets in refs.items():
            for t in targets:
                decls[fn] |= decls.get(t, set())
    return decls


def sections(path):
    """[(section name, [lines])] of a man page."""
    out, name = [], None
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line.startswith(".SH "):
                name = line[4:].strip().strip('"')
                out.append((name, []))
            elif name is not None:
                out[-1][1].append(line)
    return out


def page_of(mandir, fn):
    """The file that documents fn: its page, or the target of its alias."""
    path = os.path.join(mandir, fn + ".3")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip()
    if first.startswith(".so "):
        return os.path.join(mandir, os.path.basename(first[4:].strip()))
    return path


def concrete_code(tok, own):
    """A code token as a C expression, or None when it names no single code."""
    if tok.startswith("NK_EAI(") or tok.startswith("NK_EHOST("):
        inner = tok[tok.index("(") + 1:-1].strip()
        return tok if re.fullmatch(r"[A-Z_]+", inner) else None
    if tok.startswith("EAI_"):
        return "NK_EAI(%s)" % tok
    if tok in own or re.fullmatch(r"-E[A-Z0-9]+", tok):
        return tok
    return None


def quoted_messages(path, own):
    """[(line number, code, message)] for every message quoted after a code."""
    token_re = re.compile(r"NK_EAI\(\s*\w*\s*\)|NK_EHOST\(\s*\w*\s*\)|\b(?:%s)\b"
                          r"|(?<![\w-])-E[A-Z0-9]+\b|\bEAI_[A-Z]+\b" % "|".join(own))
    found = []
    code = None
    in_table = False
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    in_code = False
    for n, raw in enumerate(lines, 1):
        if raw.startswith((".EX", ".nf")):
            in_code = True  # program text and synopses quote C strings, not messages
            continue
        if raw.startswith((".EE", ".fi")):
            in_code = False
            continue
        if in_code:
            continue
        if raw.startswith(".TS"):
            in_table = True
            continue
        if raw.startswith(".TE"):
            in_table = False
            continue
        if in_table:
            # A table row: code<TAB>...<TAB>"message" (message quoted, last column).
            cells = [unescape(c) for c in raw.split("\t")]
            toks = token_re.findall(cells[0]) if cells else []
            m = re.fullmatch(r'"(.*)"', cells[-1].strip()) if len(cells) > 1 else None
            if toks and m and concrete_code(toks[0], own):
                found.append((n, concrete_code(toks[0], own), m.group(1)))
            continue
        if raw.startswith((".TP", ".SH", ".SS", ".PP", ".P ", ".LP", ".IP")) or raw in (".P",):
            code = None  # a new item or paragraph: no code yet
            continue
        if raw.startswith(".\\\""):
            continue
        text = unescape(raw)
        if raw.startswith("."):
            # A macro line: its arguments may name a code; quotes there are syntax.
            for tok in token_re.findall(text):
                code = concrete_code(re.sub(r"\s+", "", tok), own)
            continue
        # A text line: codes and quoted messages, in order.
        for m in re.finditer(r'"([^"]*)"|' + token_re.pattern, text):
            if m.group(1) is not None:
                if code is not None:
                    found.append((n, code, m.group(1)))
            else:
                tok = re.sub(r"\s+", "", m.group(0))
                c = concrete_code(tok, own)
                if c is not None:
                    code = c
    return found


def unquoted_items(path, own):
    """[code] for the ERRORS items whose tag is a concrete code but
    whose text quotes no message."""
    token_re = re.compile(r"NK_EAI\(\s*\w*\s*\)|NK_EHOST\(\s*\w*\s*\)|\b(?:%s)\b"
                          r"|(?<![\w-])-E[A-Z0-9]+\b" % "|".join(own))
    bad = []
    for name, body in sections(path):
        if name != "ERRORS":
            continue
        items, cur = [], None
        for raw in body:
            if raw.startswith(".TP"):
                cur = []
                items.append(cur)
            elif cur is not None:
                cur.append(raw)
        for item in items:
            if not item:
                continue
            tag = unescape(item[0])
            toks = [concrete_code(re.sub(r"\s+", "", t), own) for t in token_re.findall(tag)]
            if toks and toks[0] and not any('"' in unescape(l) for l in item[1:]
                                             if not l.startswith(".")):
                bad.append((toks[0]))
    return bad


def strerror_of(codes, cc_args, link_args):
    """{code expression: nk_strerror text}, from a program compiled for them."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "codes.c")
        with open(src, "w") as f:
            f.write("#define _GNU_SOURCE\n#include <errno.h>\n#include <netdb.h>\n#include <stdio.h>\n"
                    "#include <netkit.h>\nint main(void)\n{\n")
            for c in codes:
                f.write('    printf("%%s\\n", nk_strerror(%s));\n' % c)
            f.write("    return 0;\n}\n")
        exe = os.path.join(tmp, "codes")
        r = subprocess.run(cc_args + ["-o", exe, src] + link_args,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            raise SystemExit("man_errors: a code named in the pages is not a netkit "
                             "code (see the compiler's message above)")
        out = subprocess.run([exe], capture_output=True, text=True, check=True,
                             timeout=20).stdout.split("\n")
    return dict(zip(codes, out))


def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    mandir, header = argv[0], argv[1]
    cc_args, link_args = argv[2:sep], argv[sep + 1:]
    with open(header, encoding="utf-8") as f:
        header_text = f.read()
    own = own_codes(header_text)
    if len(own) < 5:
        raise SystemExit("man_errors: cannot read NK_OWN_ERRORS from " + header)
    problems = []

    # 1. The header's codes are in the ERRORS section of each function's page.
    decls = header_errors(header_text, own)
    listed = 0
    for fn, codes in sorted(decls.items()):
        page = page_of(mandir, fn)
        if page is None:
            continue  # check_man.sh reports the missing page
        errors = [body for name, body in sections(page) if name == "ERRORS"]
        text = unescape("\n".join(errors[0])) if errors else ""
        for code in sorted(codes):
            listed += 1
            if code not in text:
                problems.append("%s: ERRORS does not name %s, which include/netkit.h lists "
                                "for %s()" % (page, code, fn))

    # 2. Every quoted message is nk_strerror's text for its code.
    pages = sorted(os.path.join(mandir, p) for p in os.listdir(mandir)
                   if re.search(r"\.[37]$", p))
    quotes = []
    for page in pages:
        with open(page, encoding="utf-8") as f:
            if f.readline().startswith(".so "):
                continue
        quotes += [(page,) + q for q in quoted_messages(page, own)]
        for code in unquoted_items(page, own):
            problems.append("%s: ERRORS lists %s without its message (\"...\", as "
                            "nk_strerror gives it)" % (page, code))
    texts = strerror_of(sorted({q[2] for q in quotes}), cc_args, link_args)
    for page, line, code, msg in quotes:
        if texts[code] != msg:
            problems.append('%s:%d: %s is quoted as "%s"; nk_strerror gives "%s"'
                            % (page, line, code, msg, texts[code]))
    for p in problems:
        print("check_man: FAIL: " + p)
    print("check_man: errors: %d codes of %d functions found in their pages' ERRORS; "
          "%d quoted messages (%d codes) equal nk_strerror's text%s"
          % (listed, len(decls), len(quotes), len(texts),
             "" if not problems else "; %d problems" % len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
