"""The figures file of scripts/bench.sh: one line per workload,
"name key=value ...", values as int, float or text, and statuses as
"201:10,409:3". Both of bench.sh's reports read it through read_figures."""


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
