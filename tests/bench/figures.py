"""The figures file of scripts/bench.sh: one line per workload,
"name key=value ...", values as int, float or text, and statuses as
"201:10,409:3". Both of bench.sh's reports read it through read_figures."""

import math


def read_figures(path):
    """{workload: {key: value}} from the figures file at path."""
    w = {}
    for line in open(path):
        name, *kv = line.split()
        d = w.setdefault(name, {})
        for item in kv:
            k, _, v = item.partition("=")
            if k == "statuses":
                d[k] = {s: int(n) for s, n in (p.split(":") for p in v.split(",") if p)}
                continue
            try:
                d[k] = int(v)
            except ValueError:
                try:
                    d[k] = float(v)
                except ValueError:
                    d[k] = v
    return w


def _buckets(path, name, label):
    """{le: cumulative count} of histogram NAME's series with LABEL
    (e.g. 'kind="write"') in the /metrics text at path."""
    out = {}
    prefix = name + "_bucket{"
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return out
    for line in lines:
        if not line.startswith(prefix) or label not in line:
            continue
        labels, _, value = line[len(prefix):].rpartition("} ")
        le = labels.split('le="', 1)[1].split('"', 1)[0]
        out[float("inf") if le == "+Inf" else float(le)] = float(value)
    return out


def quantile_upper_ms(before, after, name, label, q=0.99):
    """The q-quantile of what histogram NAME{LABEL} observed between two
    /metrics readings, as the upper bound of its bucket in ms (a bucket
    histogram says no more); None when nothing was observed or the
    histogram is missing."""
    a, b = _buckets(before, name, label), _buckets(after, name, label)
    if not b:
        return None
    bounds = sorted(b)
    delta = [b[le] - a.get(le, 0.0) for le in bounds]
    total = delta[-1]
    if total <= 0:
        return None
    # the rank of the q-quantile; q * total a hair above a whole number
    # (0.07 * 100 is 7.000000000000001) is that number
    x = q * total
    rank = max(1, math.ceil(x - x * 1e-12))
    for le, n in zip(bounds, delta):
        if n >= rank:
            return le * 1000
    return float("inf")


def join_tails(before, after):
    """'key=value ...' of the p99 (bucket upper bounds, ms) of the join
    rounds, of each part of a join in the server and of the join request
    between two /metrics readings (groupbuyd_join_round_seconds,
    groupbuyd_join_phase_seconds, groupbuyd_http_request_duration_seconds);
    'tails=unmeasured' when the server does not expose them."""
    pairs = [("round_read", "groupbuyd_join_round_seconds", 'kind="read"'),
             ("round_write", "groupbuyd_join_round_seconds", 'kind="write"')]
    pairs += [(p, "groupbuyd_join_phase_seconds", 'phase="%s"' % p)
              for p in ("queue", "read", "wait", "write", "total")]
    # the whole request in the server, from read to reply (session look-up
    # and answer included): what is left of the client's p99 is outside it
    pairs.append(("http", "groupbuyd_http_request_duration_seconds",
                  'route="POST /v1/campaigns/{id}/participations"'))
    out = []
    for key, name, label in pairs:
        v = quantile_upper_ms(before, after, name, label)
        if v is not None:
            out.append("p99_%s_ms=%g" % (key, v))
    return " ".join(out) if out else "tails=unmeasured"


def counter_delta(before, after, series):
    """How much the counter SERIES (its whole name as /metrics prints it,
    labels included, e.g. 'groupbuyd_join_rounds_total{kind="write"}')
    grew between two /metrics readings; a series missing from the first
    reading counts from 0, one missing from the second gives None."""
    def value(path):
        try:
            lines = open(path).read().splitlines()
        except OSError:
            return None
        for line in lines:
            name, _, v = line.rpartition(" ")
            if name == series:
                return float(v)
        return None
    a = value(after)
    if a is None:
        return None
    return a - (value(before) or 0.0)


def join_rounds(before, after):
    """'key=value ...' of how the joins between two /metrics readings went
    to PostgreSQL: joins per read and per write statement (a round's fixed
    cost is shared by this many) and session look-up statements per join
    (engine/auth.c); 'rounds=unmeasured' when no join was submitted or the
    server does not expose the counters."""
    joins = counter_delta(before, after, "groupbuyd_join_submitted_total")
    if not joins:
        return "rounds=unmeasured"
    out = []
    for key, series in (("read", 'groupbuyd_join_rounds_total{kind="read"}'),
                        ("write", 'groupbuyd_join_rounds_total{kind="write"}')):
        n = counter_delta(before, after, series)
        if n:
            out.append("joins_per_%s_round=%.1f" % (key, joins / n))
    n = counter_delta(before, after, 'groupbuyd_db_statements_total{statement="auth_sessions"}')
    if n is not None:
        out.append("session_lookups_per_join=%.3f" % (n / joins))
    return " ".join(out) if out else "rounds=unmeasured"


def read_statements(path, joins):
    """Each statement of pg_stat_statements over a load of JOINS joins,
    from the tab-separated file at path (calls, total execution ms, rows,
    top-level t/f, text): [{query, toplevel, calls_per_join, us_per_join,
    rows_per_call}], the most time first; None when the file is missing
    or empty, or there was no join to divide by."""
    try:
        lines = [ln for ln in open(path).read().splitlines() if ln]
    except OSError:
        return None
    if not lines or joins <= 0:
        return None
    out = []
    for ln in lines:
        calls, ms, rows, top, query = ln.split("\t", 4)
        calls, ms, rows = int(calls), float(ms), int(rows)
        out.append({"query": query, "toplevel": top == "t",
                    "calls_per_join": round(calls / joins, 3),
                    "us_per_join": round(1000 * ms / joins, 1),
                    "rows_per_call": round(rows / calls, 1) if calls else 0.0})
    out.sort(key=lambda s: -s["us_per_join"])
    return out


def statements_text(stmts, top=12):
    """The report's lines for read_statements' list (None: unmeasured),
    the TOP statements with the most time a join."""
    if stmts is None:
        return "hot, by statement: unmeasured (pg_stat_statements read nothing, or no join)"
    lines = ["hot, by statement (pg_stat_statements: execution time, waits for a core included;"
             " a nested statement is also inside the one that ran it):"]
    for st in stmts[:top]:
        lines.append(f"  {st['us_per_join']:7.1f} us a join, {st['calls_per_join']:6.3f} calls a join,"
                     f" {st['rows_per_call']:6.1f} rows a call, {'top  ' if st['toplevel'] else 'inner'}"
                     f" {st['query'][:72]}")
    return "\n".join(lines)


def sse_pairs(w, many=False):
    """The rounds of the streams' workloads in the figures w, as (without
    streams, with them) pairs: hot_ref and hot_under_sse, then _2, _3 ...;
    with many, hot_ref_many and hot_under_sse_many likewise."""
    tail = "_many" if many else ""
    pairs = []
    while True:
        sfx = tail + ("" if not pairs else "_%d" % (len(pairs) + 1))
        if "hot_ref" + sfx not in w or "hot_under_sse" + sfx not in w:
            return pairs
        pairs.append((w["hot_ref" + sfx], w["hot_under_sse" + sfx]))


def stream_cost(pairs):
    """What the streams cost, over (without, with) pairs of the hot load:
    ratio, the joins/s with streams summed over the rounds against those
    without; server_us_per_event, the server's CPU beyond what the same
    joins cost it without streams (its CPU a join in the round without,
    times the joins with), per stream event it sent; holder_cpu_share, the
    streams' clients' CPU (the holder, on the same cores, over its run,
    which outlasts the load by 2 s) as a share of the machine's CPU over
    the load. Each None when it cannot be worked out (a round without
    joins, events or CPU figures)."""
    out = {"ratio": None, "server_us_per_event": None, "holder_cpu_share": None}
    if not pairs:
        return out
    ref = sum(r.get("joins", 0) / r["duration_s"] for r, _ in pairs if r.get("duration_s"))
    with_ = sum(s.get("joins", 0) / s["duration_s"] for _, s in pairs if s.get("duration_s"))
    if ref > 0:
        out["ratio"] = round(with_ / ref, 3)
    extra = events = 0.0
    for r, s in pairs:
        if not (r.get("joins") and isinstance(r.get("server_cpu_s"), (int, float))
                and isinstance(s.get("server_cpu_s"), (int, float)) and s.get("server_events")):
            break
        extra += s["server_cpu_s"] - r["server_cpu_s"] * s.get("joins", 0) / r["joins"]
        events += s["server_events"]
    else:
        out["server_us_per_event"] = round(1e6 * extra / events, 1)
    holder = [s.get("holder_cpu_s") for _, s in pairs]
    machine = [s.get("machine_cpu_s") for _, s in pairs]
    if all(isinstance(x, (int, float)) for x in holder + machine) and sum(machine) > 0:
        out["holder_cpu_share"] = round(sum(holder) / sum(machine), 3)
    return out


def stream_cost_text(c):
    """stream_cost's figures, as both of bench.sh's reports print them."""
    return (f"the server's CPU per stream event beyond the joins' {c['server_us_per_event']} us,"
            f" the streams' clients (on the same cores) {c['holder_cpu_share']} of the machine's CPU")
