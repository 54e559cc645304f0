"""The bench's arithmetic (tests/bench/figures.py): the figures file it
writes and reads, and the p99s it reads from /metrics histograms. Run by
make test (scripts/test.sh); no server, no database."""
import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from figures import (join_rounds, join_tails, quantile_upper_ms, read_figures,  # noqa: E402
                     read_statements, sse_pairs, statements_text, stream_cost)


def test_read_figures_types_and_statuses(tmp_path):
    p = tmp_path / "fig.txt"
    p.write_text("hot requests=10 p99_ms=1.5 statuses=201:9,409:1 waits=CPU:0.5;IO:WALSync:0.5\n"
                 "db_only cpu_us_per_join=unmeasured cpu_unmeasured_why=backend_stat_unreadable\n")
    w = read_figures(p)
    assert w["hot"] == {"requests": 10, "p99_ms": 1.5, "statuses": {"201": 9, "409": 1},
                        "waits": "CPU:0.5;IO:WALSync:0.5"}
    assert w["db_only"]["cpu_us_per_join"] == "unmeasured"


def metrics(counts, name="groupbuyd_join_phase_seconds", label='phase="total"'):
    """/metrics text of one histogram series with cumulative counts at
    the bounds given ({le: cumulative})."""
    return "".join('%s_bucket{%s,le="%s"} %d\n' % (name, label, le, n) for le, n in counts)


CASES = [
    # (before, after, expected p99 in ms): cumulative counts at 1 ms, 10 ms, +Inf
    ("nothing before, 99 of 100 within 1 ms", [], [("0.001", 99), ("0.01", 100), ("+Inf", 100)], 1),
    ("nothing before, 98 of 100 within 1 ms", [], [("0.001", 98), ("0.01", 100), ("+Inf", 100)], 10),
    ("only the difference counts", [("0.001", 0), ("0.01", 1000), ("+Inf", 1000)],
     [("0.001", 990), ("0.01", 2000), ("+Inf", 2000)], 1),
    ("above the last bound", [], [("0.001", 0), ("0.01", 0), ("+Inf", 5)], math.inf),
    ("nothing observed meanwhile", [("0.001", 5), ("0.01", 5), ("+Inf", 5)],
     [("0.001", 5), ("0.01", 5), ("+Inf", 5)], None),
]


@pytest.mark.parametrize("what,before,after,want", CASES, ids=[c[0] for c in CASES])
def test_p99_from_buckets(tmp_path, what, before, after, want):
    b, a = tmp_path / "b", tmp_path / "a"
    b.write_text(metrics(before))
    a.write_text(metrics(after))
    got = quantile_upper_ms(b, a, "groupbuyd_join_phase_seconds", 'phase="total"')
    assert got == (pytest.approx(want) if want not in (None, math.inf) else want), what


def test_rank_is_not_pushed_up_by_rounding(tmp_path):
    # 0.07 * 100 is 7.000000000000001: the 7th value, not the 8th
    b, a = tmp_path / "b", tmp_path / "a"
    b.write_text("")
    a.write_text(metrics([("0.0001", 7), ("0.01", 100), ("+Inf", 100)]))
    assert quantile_upper_ms(b, a, "groupbuyd_join_phase_seconds", 'phase="total"', 0.07) == \
        pytest.approx(0.1)


def test_join_tails_names_each_part_and_says_when_unmeasured(tmp_path):
    b, a = tmp_path / "b", tmp_path / "a"
    b.write_text("")
    a.write_text(metrics([("0.002", 100), ("+Inf", 100)], "groupbuyd_join_round_seconds", 'kind="write"')
                 + metrics([("0.005", 100), ("+Inf", 100)], label='phase="queue"'))
    assert join_tails(b, a) == "p99_round_write_ms=2 p99_queue_ms=5"
    a.write_text(metrics([("0.025", 99), ("0.05", 100), ("+Inf", 100)], "groupbuyd_http_request_duration_seconds",
                         'route="POST /v1/campaigns/{id}/participations"'))
    assert join_tails(b, a) == "p99_http_ms=25"
    a.write_text("groupbuyd_joins_total 5\n")
    assert join_tails(b, a) == "tails=unmeasured"


def test_join_rounds_divides_the_joins_by_the_statements(tmp_path):
    b, a = tmp_path / "b", tmp_path / "a"
    b.write_text('groupbuyd_join_submitted_total 100\n'
                 'groupbuyd_join_rounds_total{kind="read"} 10\n'
                 'groupbuyd_join_rounds_total{kind="write"} 10\n')
    a.write_text('groupbuyd_join_submitted_total 370\n'
                 'groupbuyd_join_rounds_total{kind="read"} 20\n'
                 'groupbuyd_join_rounds_total{kind="write"} 19\n'
                 'groupbuyd_db_statements_total{statement="auth_sessions"} 27\n')
    # a statement missing before counts from 0: 27 look-ups for 270 joins
    assert join_rounds(b, a) == \
        "joins_per_read_round=27.0 joins_per_write_round=30.0 session_lookups_per_join=0.100"


def test_join_rounds_says_when_unmeasured(tmp_path):
    b, a = tmp_path / "b", tmp_path / "a"
    b.write_text('groupbuyd_join_submitted_total 5\n')
    a.write_text('groupbuyd_join_submitted_total 5\n'
                 'groupbuyd_join_rounds_total{kind="write"} 3\n')
    assert join_rounds(b, a) == "rounds=unmeasured"  # no join meanwhile
    a.write_text('groupbuyd_joins_total 9\n')
    assert join_rounds(b, a) == "rounds=unmeasured"  # no such counter


def test_read_statements_per_join_most_time_first(tmp_path):
    f = tmp_path / "s.tsv"
    f.write_text("40\t12.5\t400\tf\tSELECT u.ord FROM unnest($1) u\n"
                 "10\t250.0\t1000\tt\tSELECT * FROM gb_join_batches($1, $2)\n"
                 "\n")
    got = read_statements(f, 1000)
    assert [s["query"] for s in got] == ["SELECT * FROM gb_join_batches($1, $2)",
                                         "SELECT u.ord FROM unnest($1) u"]
    # 250 ms over 1,000 joins: 250 us a join, 10 calls of 100 rows
    assert got[0] == {"query": "SELECT * FROM gb_join_batches($1, $2)", "toplevel": True,
                      "calls_per_join": 0.01, "us_per_join": 250.0, "rows_per_call": 100.0}
    assert got[1]["toplevel"] is False and got[1]["us_per_join"] == 12.5


def test_read_statements_says_when_unmeasured(tmp_path):
    f = tmp_path / "s.tsv"
    assert read_statements(f, 1000) is None  # no file
    f.write_text("")
    assert read_statements(f, 1000) is None  # nothing recorded
    f.write_text("1\t1.0\t1\tt\tSELECT 1\n")
    assert read_statements(f, 0) is None  # no join to divide by


def test_statements_text_both_reports_print():
    assert statements_text(None).endswith("unmeasured (pg_stat_statements read nothing, or no join)")
    st = [{"query": "SELECT * FROM gb_join_batches($1, $2)" + " x" * 60, "toplevel": True,
           "calls_per_join": 0.01, "us_per_join": 250.0, "rows_per_call": 100.0},
          {"query": "SELECT u.ord FROM unnest($1) u", "toplevel": False,
           "calls_per_join": 0.04, "us_per_join": 12.5, "rows_per_call": 10.0}]
    lines = statements_text(st).split("\n")
    assert len(lines) == 3 and lines[0].startswith("hot, by statement")
    assert lines[1] == ("    250.0 us a join,  0.010 calls a join,  100.0 rows a call, top   "
                        + st[0]["query"][:72])
    assert lines[2].endswith("inner SELECT u.ord FROM unnest($1) u")
    assert len(statements_text(st, top=1).split("\n")) == 2


def test_sse_pairs_in_round_order():
    w = {"hot_ref": {"n": 1}, "hot_under_sse": {"n": 2}, "hot_ref_2": {"n": 3},
         "hot_under_sse_2": {"n": 4}, "hot_ref_3": {"n": 5},  # no pair: ignored
         "hot_ref_many": {"n": 6}, "hot_under_sse_many": {"n": 7}}
    assert sse_pairs(w) == [({"n": 1}, {"n": 2}), ({"n": 3}, {"n": 4})]
    assert sse_pairs(w, many=True) == [({"n": 6}, {"n": 7})]
    assert sse_pairs({}) == []


def test_stream_cost_splits_the_servers_cpu_from_the_joins():
    ref = {"joins": 40000, "duration_s": 10.0, "server_cpu_s": 4.0}
    watched = {"joins": 30000, "duration_s": 10.0, "server_cpu_s": 4.0,
               "server_events": 100000, "holder_cpu_s": 1.0, "machine_cpu_s": 20.0}
    got = stream_cost([(ref, watched)])
    # 30,000 joins cost 3.0 s without streams: 1.0 s over 100,000 events
    assert got == {"ratio": 0.75, "server_us_per_event": 10.0, "holder_cpu_share": 0.05}
    # rounds summed: joins/s over joins/s, extra CPU over events
    ref2 = dict(ref, joins=50000, server_cpu_s=5.0)
    watched2 = dict(watched, joins=50000, server_cpu_s=6.0, holder_cpu_s=3.0)
    got = stream_cost([(ref, watched), (ref2, watched2)])
    assert got == {"ratio": round(8000 / 9000, 3), "server_us_per_event": 10.0,
                   "holder_cpu_share": 0.1}


def test_stream_cost_says_when_unmeasured():
    assert stream_cost([]) == {"ratio": None, "server_us_per_event": None, "holder_cpu_share": None}
    ref = {"joins": 0, "duration_s": 10.0, "server_cpu_s": 1.0}
    watched = {"joins": 10, "duration_s": 10.0, "server_cpu_s": 1.0, "server_events": 5,
               "holder_cpu_s": "x", "machine_cpu_s": 20.0}
    assert stream_cost([(ref, watched)]) == \
        {"ratio": None, "server_us_per_event": None, "holder_cpu_share": None}
