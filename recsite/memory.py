"""How a web process keeps the garbage collector out of its requests' way."""
import gc

# Python's default (700, 10, 10) runs a full collection every 70,000 net allocations: every
# 40 or so "why this?" pages (each decodes ten stored records), 15-45 ms each time, inside
# whichever request crossed the line, which put it at the p99. Young collections every
# 7,000 and a full one every 100th older collection make full ones rare (none in 500 pages);
# what a request allocates is freed by reference counting anyway, and gunicorn recycles
# its workers (deploy/gunicorn.conf.py). docs/benchmarks.md, "Soak".
THRESHOLDS = (7000, 10, 100)


def settle() -> None:
    """Collect once, freeze everything alive (modules, templates, plot structures: the
    ~200,000 start-up objects no later collection needs to walk again), and space out
    collections (THRESHOLDS). Called once a process has loaded what requests use."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
