#!/usr/bin/python3
"""Fails when an include runs back up the layers of server/ (server/README).

Each folder of server/ is a layer; a file may include headers of its own
folder and of the folders below it. api/'s subfolders are handlers by
caller: a file there includes nothing of another api/ subfolder, and only
main.c (and the unit tests) include api/routes.h. app.h, the hub, is
included by api/ and main.c only. Run by scripts/test.sh; prints one line
per violation and exits 1, or prints its all-clear and exits 0.
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
    if bad:
        print("\n".join("layers: " + b for b in bad))
        return 1
    print("layers: %d files, every include points down" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
