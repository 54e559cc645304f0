"""Rules the suite holds itself to, read from its own source.

A request whose answer is thrown away is a write the test relies on
without knowing it happened: every call that sends a request through the
server (a Server method, or a helper that answers the Response) is used,
by an assertion or a name. Fixed sleeps are a time standing in for a
state: each one left says, in a comment on its line or the line above, why
a time is the right thing to wait for.
"""
import ast
import glob
import os

HERE = os.path.dirname(os.path.abspath(__file__))
# Server methods that send a request, and helpers that return its Response.
SENDS = {"post", "put", "patch", "delete", "request", "json_post"}
RESPONSE_HELPERS = {"join", "withdraw", "put_vip", "create_hook", "webhook",
                    "create_distributor", "create_staff", "create_customer",
                    "post_product", "post_campaign", "post_publish", "staff_login",
                    "customer_login", "intent", "ask", "approve"}


def sources():
    for path in sorted(glob.glob(os.path.join(HERE, "**", "*.py"), recursive=True)):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        yield os.path.relpath(path, HERE), text, ast.parse(text)


def call_name(call):
    fn = call.func
    if isinstance(fn, ast.Attribute):
        return fn.attr, fn.value
    if isinstance(fn, ast.Name):
        return fn.id, None
    return None, None


def test_every_request_has_its_answer_used():
    problems = []
    for path, _, tree in sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
                continue
            name, receiver = call_name(node.value)
            args = node.value.args
            if name in SENDS and receiver is not None and not (
                    isinstance(receiver, ast.Name) and receiver.id == "conn"):
                pass  # (an http.client connection, conn, answers through getresponse)
            elif name in RESPONSE_HELPERS and name != "join":
                pass
            elif name == "join" and receiver is None and args and not (
                    isinstance(args[0], ast.Name) and args[0].id == "db"):
                pass  # join_helpers.join(srv, ...): a Response; scheduler's join(db, ...) is not
            else:
                continue
            problems.append("%s:%d: %s" % (path, node.lineno, ast.unparse(node)[:100]))
    assert not problems, ("requests whose answer nobody checks (assert the status, or "
                          "the state the test relies on):\n" + "\n".join(problems))


def test_every_fixed_sleep_says_why():
    problems = []
    for path, text, tree in sources():
        lines = text.splitlines()
        loops = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.While, ast.For)):
                # a sleep in a loop that polls is the poll's pace
                for inner in ast.walk(node):
                    loops.add(id(inner))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or id(node) in loops:
                continue
            name, receiver = call_name(node)
            if name != "sleep" or not (isinstance(receiver, ast.Name)
                                       and receiver.id == "time"):
                continue
            here = lines[node.lineno - 1]
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            if "#" not in here and not above.startswith("#"):
                problems.append("%s:%d: %s" % (path, node.lineno, here.strip()))
    assert not problems, ("fixed sleeps without a comment saying why a time is right "
                          "(else wait for a state: /metrics, the database, the log):\n"
                          + "\n".join(problems))
