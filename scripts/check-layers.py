#!/usr/bin/python3
"""Fails when an include runs back up the layers of server/, or when C
writes a table itself (server/README).

Each folder of server/ is a layer; a file may include headers of its own
folder and of the folders below it. api/'s subfolders are handlers by
caller: a file there includes nothing of another api/ subfolder, and only
main.c (and the unit tests) include api/routes.h. app.h, the hub, is
included by api/ and main.c only.

A statement that writes a table lives in a function of
schema/functions/<domain>.sql; C calls it and reads. So no string literal
of a C source or header under server/ (adjacent literals joined, as the
compiler joins them) holds INSERT INTO, UPDATE <table> SET, DELETE FROM,
MERGE INTO, TRUNCATE, COPY <table> FROM or a table's CREATE / ALTER /
DROP; only db/migrate.c, which applies the schema itself, may.

Run by scripts/test.sh; prints one line per violation and exits 1, or
prints its all-clear and exits 0.
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RANK = {"lib": 0, "domain": 1, "config": 2, "db": 3, "http": 4,
        "live": 5, "out": 5, "engine": 6, "api": 7}


def layer(rel):
    """(folder, api subfolder or None) of a path under server/."""
    parts = rel.split("/")
    if len(parts) == 1:
        return "top", None
    return parts[0], (parts[1] if parts[0] == "api" and len(parts) > 2 else None)


# The statements that change a table's rows or the table itself.
WRITES = re.compile(
    r"\b(INSERT\s+INTO"
    r"|UPDATE\s+(ONLY\s+)?[\w.%$]+(\s+(AS\s+)?\w+)?\s+SET"
    r"|DELETE\s+FROM|MERGE\s+INTO|TRUNCATE"
    r"|COPY\s+[\w.%$]+(\s*\([^)]*\))?\s+FROM"
    r"|(CREATE|ALTER|DROP)\s+((GLOBAL|LOCAL)\s+)?((TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE)\b",
    re.I)
WRITERS_ALLOWED = {"db/migrate.c"}


def string_literals(text):
    """(line, text) of each run of adjacent string literals of C source,
    comments and character constants skipped."""
    out, i, n, line = [], 0, len(text), 1
    run, run_line, gap_clean = None, 0, False
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += text.count("\n", i, j)
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c == "'" or c == '"':
            j, buf = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\":
                    buf.append(text[j:j + 2])
                    j += 2
                else:
                    buf.append(text[j])
                    j += 1
            if c == '"':
                if run is not None and gap_clean:
                    run.append("".join(buf))
                else:
                    if run is not None:
                        out.append((run_line, "".join(run)))
                    run, run_line = ["".join(buf)], line
                gap_clean = True
            line += text.count("\n", i, j)
            i = j + 1
        else:
            if c == "\n":
                line += 1
            elif not c.isspace():
                gap_clean = False
            i += 1
    if run is not None:
        out.append((run_line, "".join(run)))
    return out


def table_writes(files):
    """One line per string literal of files that writes a table."""
    bad = []
    for path in files:
        rel = os.path.relpath(path, os.path.join(ROOT, "server"))
        if rel in WRITERS_ALLOWED:
            continue
        for line, lit in string_literals(open(path, encoding="utf-8").read()):
            m = WRITES.search(lit)
            if m:
                bad.append("writes: server/%s:%d: \"%s\" writes a table: the statement "
                           "belongs in a function of schema/functions/, which C calls"
                           % (rel, line, " ".join(m.group(0).split())))
    return bad


def main():
    bad = []
    files = sorted(glob.glob(os.path.join(ROOT, "server", "**", "*.[ch]"), recursive=True))
    for path in files:
        rel = os.path.relpath(path, os.path.join(ROOT, "server"))
        folder, sub = layer(rel)
        text = open(path, encoding="utf-8").read()
        for inc in re.findall(r'^#include\s+"([^"]+)"', text, re.M):
            if folder == "top":
                continue  # main.c and app.h wire everything
            if inc == "app.h":
                if folder != "api":
                    bad.append("%s includes app.h: only handlers reach the hub" % rel)
                continue
            ifolder, isub = layer(inc)
            if ifolder not in RANK:
                bad.append("%s includes %s: no such layer" % (rel, inc))
                continue
            if RANK[ifolder] > RANK[folder] or (RANK[ifolder] == RANK[folder] and ifolder != folder):
                bad.append("%s includes %s: %s/ is not below %s/" % (rel, inc, ifolder, folder))
            elif folder == "api":
                if inc == "api/routes.h" and rel != "api/routes.c":
                    bad.append("%s includes api/routes.h: only main.c does" % rel)
                elif isub is not None and sub is not None and isub != sub:
                    bad.append("%s includes %s: a handler never includes another caller's handlers" % (rel, inc))
    bad = ["layers: " + b for b in bad] + table_writes(files)
    if bad:
        print("\n".join(bad))
        return 1
    print("layers: %d files, every include points down; no table written from C"
          % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
