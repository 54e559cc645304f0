#!/usr/bin/python3
"""Runs the walkthrough, docs/walkthrough.md, exactly as written, against `make run`.

The commands are read from docs/walkthrough.md, so that the document cannot
drift from what works: every ```sh block there is split into steps at blank
lines; a step's `#>` lines are what it must print, and the rest is run, in
order, in one bash (variables carry from step to step), from the checkout's
root as a reader would. The one change: the campaign closes 15 seconds
after it is made instead of two minutes (the test would otherwise wait for
nothing); the test fails if that text is not found exactly once.

README.md's "Walkthrough" section shows the first steps only; the test
fails unless its ```sh steps are, verbatim, the first steps of
docs/walkthrough.md, so the README holds no second copy that could drift.

The server is scripts/run.sh itself (what `make run` runs after the build),
with its development secrets and demo data, on a free port given through
GROUPBUYD_LISTEN, against a fresh cluster of its own (var/test-walk-<pid>).
Run by scripts/test.sh; needs build/groupbuyd. Exit status 0 on success.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG = os.path.join(ROOT, "scripts", "pg.sh")
CLOSE_IN_DOC = "'+2 minutes'"
CLOSE_IN_TEST = "'+15 seconds'"


WALKTHROUGH = os.path.join("docs", "walkthrough.md")


def sh_steps(text):
    """[(commands, expected_lines)] of every ```sh block of text."""
    steps = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
        for chunk in re.split(r"\n\s*\n", block.strip("\n")):
            lines = chunk.split("\n")
            cmd = [l for l in lines if not l.startswith("#>")]
            out = [l[3:] if l.startswith("#> ") else l[2:] for l in lines if l.startswith("#>")]
            if cmd:
                steps.append(("\n".join(cmd), out))
    return steps


def walkthrough_steps(doc):
    """The steps of docs/walkthrough.md: every ```sh block in it."""
    steps = sh_steps(doc)
    if len(steps) < 10:
        raise SystemExit("walkthrough: only %d steps found in %s" % (len(steps), WALKTHROUGH))
    return steps


def check_readme_prefix(readme, steps):
    """README.md's Walkthrough section may show the first steps, verbatim."""
    m = re.search(r"^## Walkthrough\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    if not m:
        raise SystemExit("walkthrough: README.md has no '## Walkthrough' section")
    shown = sh_steps(m.group(1))
    for i, step in enumerate(shown):
        if i >= len(steps) or step != steps[i]:
            raise SystemExit("walkthrough: README.md's step %d is not step %d of %s:\n%s"
                             % (i + 1, i + 1, WALKTHROUGH, step[0]))
    return len(shown)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    # A SIGTERM (make test interrupted) still stops the server and removes
    # the cluster: the finally below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    steps = walkthrough_steps(open(os.path.join(ROOT, WALKTHROUGH), encoding="utf-8").read())
    shown = check_readme_prefix(open(os.path.join(ROOT, "README.md"), encoding="utf-8").read(),
                                steps)
    script_steps = []
    found = 0
    for cmd, out in steps:
        found += cmd.count(CLOSE_IN_DOC)
        script_steps.append((cmd.replace(CLOSE_IN_DOC, CLOSE_IN_TEST), out))
    if found != 1:
        raise SystemExit("walkthrough: expected %s once in the walkthrough, found %d"
                         % (CLOSE_IN_DOC, found))

    cluster = os.path.join(ROOT, "var", "test-walk-%d" % os.getpid())
    work = tempfile.mkdtemp(prefix="gbd-walk-")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("GROUPBUYD_PLATFORM_TOKEN", "GROUPBUYD_PAYMENT_WEBHOOK_SECRET", "GB")}
    pg_env = dict(env, PG_EXTRA_CONF="fsync = off\nsynchronous_commit = off",
                  PG_INITDB_OPTS="--no-sync")
    server = None
    log = []
    failures = []
    try:
        subprocess.run([PG, "start", cluster], env=pg_env, check=True,
                       stdout=subprocess.DEVNULL)
        url = subprocess.run([PG, "url", cluster], env=pg_env, check=True,
                             capture_output=True, text=True).stdout.strip()
        env.update(GROUPBUYD_DATABASE_URL=url, GROUPBUYD_LISTEN="127.0.0.1:%d" % port)
        server = subprocess.Popen([os.path.join(ROOT, "scripts", "run.sh")], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True)
        ready = threading.Event()

        def reader():
            for line in server.stdout:
                log.append(line)
                if line.startswith("groupbuyd serves on http://127.0.0.1:%d" % port):
                    ready.set()
        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(120) or server.poll() is not None:
            raise SystemExit("walkthrough: `make run` did not come up:\n" + "".join(log[-30:]))
        if not any("GROUPBUYD_PLATFORM_TOKEN=dev-platform-token-not-secret" in l for l in log):
            failures.append("make run did not announce its development platform token")

        # One bash for every step, each step's output to its own file; it
        # stops at the first step that fails, prints to stderr or prints
        # other than the walkthrough says (a later `until` would wait forever).
        lines = ["set -u", "cd %s" % ROOT]
        for i, (cmd, expected) in enumerate(script_steps):
            with open(os.path.join(work, "exp.%d" % i), "w", encoding="utf-8") as f:
                f.write("".join(l + "\n" for l in expected))
            lines += ["{", cmd, "} >%s/out.%d 2>%s/err.%d" % (work, i, work, i),
                      "rc=$?; echo $rc >%s/rc.%d" % (work, i),
                      "[ $rc -eq 0 ] && [ ! -s %s/err.%d ] && %s %s --same %s/out.%d %s/exp.%d"
                      " || exit 1" % (work, i, sys.executable, os.path.abspath(__file__),
                                      work, i, work, i)]
        with open(os.path.join(work, "walk.sh"), "w") as f:
            f.write("\n".join(lines) + "\n")
        try:
            subprocess.run(["bash", os.path.join(work, "walk.sh")], env=env, timeout=150)
        except subprocess.TimeoutExpired:
            failures.append("the walkthrough did not finish within 150 s")
        for i, (cmd, expected) in enumerate(script_steps):
            try:
                out = open(os.path.join(work, "out.%d" % i), encoding="utf-8").read()
                err = open(os.path.join(work, "err.%d" % i), encoding="utf-8").read()
                rc = open(os.path.join(work, "rc.%d" % i)).read().strip()
            except OSError:
                failures.append("step %d did not run:\n%s" % (i + 1, cmd))
                break
            got = lines_of(os.path.join(work, "out.%d" % i))
            if rc != "0" or not same_lines(got, expected) or err.strip():
                failures.append("step %d:\n%s\nexit %s\nexpected:\n%s\ngot:\n%s\nstderr:\n%s"
                                % (i + 1, cmd, rc, "\n".join(expected), out, err))
                break
    finally:
        if server is not None:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
            try:
                rc = server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                rc = server.wait()
            if rc != 0:
                failures.append("make run exited %s on SIGTERM:\n%s" % (rc, "".join(log[-20:])))
        subprocess.run([PG, "destroy", cluster], env=pg_env)
        subprocess.run(["rm", "-rf", work])
    if failures:
        print("walkthrough: FAILED\n" + "\n\n".join(failures))
        return 1
    print("walkthrough: %d steps of %s passed (the first %d shown in README.md)"
          % (len(script_steps), WALKTHROUGH, shown))
    return 0


def same_lines(got, expected):
    """Line by line; a line of JSON is compared as JSON, since the order of
    an object's keys is not part of the contract (PostgreSQL's jsonb orders
    them its own way)."""
    if len(got) != len(expected):
        return False
    for g, e in zip(got, expected):
        if g == e:
            continue
        try:
            if json.loads(g) != json.loads(e):
                return False
        except ValueError:
            return False
    return True


def lines_of(path):
    text = open(path, encoding="utf-8").read()
    return text.rstrip("\n").split("\n") if text.strip() else []


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--same":
        sys.exit(0 if same_lines(lines_of(sys.argv[2]), lines_of(sys.argv[3])) else 1)
    sys.exit(main())
