#!/usr/bin/env python3
"""check_guide.py - docs/guide.md says only what is true of netkit and Python.

  1. Every C fragment of its Python | netkit tables (each `code span` of the
     netkit column) compiles with -Werror against include/netkit.h, in a
     function of a file that declares the variables of the block marked
     <!-- fragment-variables -->: an expression as (void)(expr); a statement
     (ending in ; or }) as it is; a function header as a prototype.
  2. Every ```c block with a main() compiles with -Werror and links with
     lib/libnetkit.a.
  3. Every ```c block marked <!-- excerpt: PATH --> is PATH's own text: its
     lines, split at "/* ... */" lines, appear in PATH as contiguous runs, in
     order.
  4. Every nk_* / NK_* name in the guide is declared in include/netkit.h, and
     every socket.X, selectors.X, socketserver.X and threading.X in it exists
     in this Python.

Usage: check_guide.py [docs/guide.md]   (from the top of the tree, after make;
CC is taken from the environment). Exits 1 on a problem.
"""
import os
import re
import subprocess
import sys
import tempfile

CC = os.environ.get("CC", "cc").split()
CFLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Wshadow", "-Wstrict-prototypes", "-Werror",
          "-Iinclude"]
problems = []


def fail(msg):
    problems.append(msg)
    print("check_guide: FAIL: " + msg)


def blocks(text):
    """[(line number, language, marker comment or None, body)] of fenced blocks."""
    out, lines = [], text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"```(\w*)\s*$", lines[i])
        if m:
            start, lang = i + 1, m.group(1)
            marker = None
            if i > 0:
                mm = re.match(r"<!--\s*(.*?)\s*-->\s*$", lines[i - 1])
                marker = mm.group(1) if mm else None
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append((start + 1, lang, marker, "\n".join(lines[i + 1:j])))
            i = j + 1
        else:
            i += 1
    return out


def table_fragments(text):
    """[(line number, C fragment)] from the netkit column of | Python | netkit | tables."""
    frags, in_table = [], False
    for n, line in enumerate(text.split("\n"), 1):
        if re.match(r"\|\s*Python\s*\|\s*netkit\s*\|", line):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if not in_table or re.match(r"\|[-|\s]*\|$", line):
            continue
        cells = re.split(r"(?<!\\)\|", line)[1:-1]
        if len(cells) != 2:
            fail("guide line %d: a table row without 2 cells" % n)
            continue
        for code in re.findall(r"`([^`]+)`", cells[1]):
            frags.append((n, code.replace("\\|", "|")))
    return frags


def compile_c(source, what, link=False):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "guide.c")
        with open(src, "w") as f:
            f.write(source)
        if link:
            args = CC + CFLAGS + ["-o", os.path.join(tmp, "prog"), src, "lib/libnetkit.a",
                                  "-pthread"]
        else:
            args = CC + CFLAGS + ["-Wno-unused-variable", "-Wno-unused-function", "-c", "-o",
                                  os.path.join(tmp, "guide.o"), src]
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode != 0:
            fail("%s does not compile:\n%s" % (what, r.stderr.rstrip()))
            return False
    return True


def check_fragments(text, variables):
    frags = table_fragments(text)
    prelude = ["#include <errno.h>", "#include <stdio.h>", "#include <netkit.h>", "",
               "static void handle_client(nk_tcp_client *connection, "
               "const nk_addr *client_address, void *arg)",
               "{ (void)connection; (void)client_address; (void)arg; }", ""]
    body, top = [], []
    for k, (n, code) in enumerate(frags):
        code = code.strip()
        if re.match(r"static\s+\w.*\)$", code):
            top.append("%s; /* guide line %d */" % (code, n))
            continue
        stmt = code if code.endswith((";", "}")) else "(void)(%s);" % code
        body.append("static void fragment_%d(void) /* guide line %d */\n{\n"
                    "    for (;;) {\n        %s\n        break;\n    }\n}\n"
                    % (k, n, stmt))
    # The variables at file scope: set (to zero) as the lines that would set them are not here.
    prelude += [variables, ""]
    source = "\n".join(prelude + top + [""] + body)
    if not compile_c(source, "a table fragment (see the guide line in the message)"):
        # Say which: compile them one by one.
        for k, (n, code) in enumerate(frags):
            one = "\n".join(prelude + top + [""] + [b for b in body
                                                    if "guide line %d */" % n in b])
            compile_c(one, "guide line %d: `%s`" % (n, code))
    return len(frags)


def check_excerpt(n, path, body):
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except OSError as e:
        fail("guide line %d: excerpt of %s: %s" % (n, path, e))
        return
    chunks, cur = [], []
    for line in body.split("\n"):
        if line.strip() == "/* ... */":
            chunks.append(cur)
            cur = []
        else:
            cur.append(line)
    chunks.append(cur)
    pos = 0
    for chunk in chunks:
        if not chunk:
            continue
        found = None
        for i in range(pos, len(lines) - len(chunk) + 1):
            if lines[i:i + len(chunk)] == chunk:
                found = i
                break
        if found is None:
            fail("guide line %d: this excerpt is not in %s as it stands (from: %r)"
                 % (n, path, chunk[0]))
            return
        pos = found + len(chunk)


def check_names(text):
    with open("include/netkit.h") as f:
        header = f.read()
    declared = set(re.findall(r"\b(?:nk|NK)_\w+", header))
    used = set(re.findall(r"\b(?:nk|NK)_\w+", text))
    for name in sorted(used - declared):
        fail("docs/guide.md names %s, which include/netkit.h does not declare" % name)
    import selectors
    import socket
    import socketserver
    import threading
    modules = {"socket": socket, "selectors": selectors, "socketserver": socketserver,
               "threading": threading}
    attrs = set(re.findall(r"\b(socket|selectors|socketserver|threading)\.(\w+)", text))
    for mod, attr in sorted(attrs):
        if not hasattr(modules[mod], attr):
            fail("docs/guide.md names %s.%s, which Python's %s module does not have"
                 % (mod, attr, mod))
    return len(used), len(attrs)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "docs/guide.md"
    with open(path) as f:
        text = f.read()
    bs = blocks(text)
    variables = [b for b in bs if b[2] == "fragment-variables"]
    if len(variables) != 1:
        fail("%s: expected one ```c block marked <!-- fragment-variables -->" % path)
        return 1
    nfrags = check_fragments(text, variables[0][3])
    nprogs = nexcerpts = 0
    for n, lang, marker, body in bs:
        if lang != "c" or marker == "fragment-variables":
            continue
        if marker and marker.startswith("excerpt:"):
            check_excerpt(n, marker.split(":", 1)[1].strip(), body)
            nexcerpts += 1
        elif re.search(r"\bint main\(", body):
            compile_c(body + "\n", "the program at guide line %d" % n, link=True)
            nprogs += 1
        else:
            fail("guide line %d: a ```c block that is neither a program (main), an "
                 "excerpt nor the fragment variables" % n)
    nnames, nattrs = check_names(text)
    print("check_guide: %d table fragments compiled, %d programs compiled and linked, "
          "%d excerpts found in their files, %d netkit names declared, %d Python names "
          "exist%s" % (nfrags, nprogs, nexcerpts, nnames, nattrs,
                       "" if not problems else "; %d problems" % len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
