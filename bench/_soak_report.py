"""The markdown of the "Soak" section of docs/benchmarks.md, from bench/soak.py's measurements."""
from __future__ import annotations

import math
import statistics
from datetime import datetime

from bench._soak_measure import stats
from bench._stack import percentile

TARGETS = {"GET /api/v1/recommendations/": 100.0, "GET /recommendations/[id]/why/": 150.0}


def _client_rows(results: dict) -> tuple[list[str], int, int]:
    rows, failures, requests = [], 0, 0
    for name in sorted(results["times"]):
        st = stats([m for _t, m in results["times"][name]])
        bad = results["failed"].get(name, 0)
        failures += bad
        requests += st["n"]
        target = TARGETS.get(name)
        verdict = "" if target is None else f"≤ {target:.0f}: {'met' if st['p99'] <= target else '**missed**'}"
        rows.append(f"| {name} | {st['n']:,} | {bad} | {st['p50']:.0f} | {st['p95']:.0f} | {st['p99']:.0f} | "
                    f"{st['max']:.0f} | {verdict} |")
    return rows, failures, requests


def _minute_rows(results: dict, samples: list[dict], minutes: float) -> list[str]:
    """p99 per minute of the two targeted requests beside the machine's load average (the
    requests finishing after the last full minute count in it)."""
    last = max(1, math.ceil(minutes))

    def minute_of(t: float) -> int:
        return min(int(t // 60), last - 1)

    rows = []
    for minute in range(last):
        p99 = {}
        for name in ("GET /api/v1/recommendations/", "GET /recommendations/[id]/why/"):
            values = [m for t, m in results["times"].get(name, []) if minute_of(t) == minute]
            p99[name] = f"{percentile(values, 99):.0f}" if values else "–"
        count = sum(1 for series in results["times"].values() for t, _m in series if minute_of(t) == minute)
        here = [s for s in samples if minute_of(s["t"]) == minute]
        load = max((float(s["load"].split()[0]) for s in here), default=math.nan)
        backlog = max((s["backlog"]["explain"] for s in here), default=0)
        rows.append(f"| {minute + 1} | {count:,} | {p99['GET /api/v1/recommendations/']} | "
                    f"{p99['GET /recommendations/[id]/why/']} | {load:.1f} | {backlog} |")
    return rows


def _reading(results: dict, server: dict, costs: dict, machine: float, loads: list[float]) -> str:
    """Return the decomposition of each target's p99: time before a worker took the request,
    time inside it against the request's own CPU cost, and full garbage collections."""
    lines = []
    for name in TARGETS:
        client = stats([m for _t, m in results["times"].get(name, [])])
        inside = stats(server.get(name, {"ms": []})["ms"])
        own = stats([v["cpu"] for v in costs["rows"].get(name, [])])
        stretch = inside["p50"] / own["p50"] if own["p50"] else math.nan
        lines.append(
            f"- `{name}`: p99 {client['p99']:.0f} ms at the client, {inside['p99']:.0f} ms inside a web worker, so "
            f"{client['p99'] - inside['p99']:.0f} ms of the client's p99 came before a worker took the request "
            f"(every sync worker busy) or in the load generator's own scheduling. Served alone after "
            f"the load, a warm request costs {own['p50']:.0f} ms CPU at p50 and {own['p99']:.0f} ms at p99; "
            f"inside the workers during the load it took {inside['p50']:.0f} ms at p50, {stretch:.1f}× its CPU "
            f"cost (the whole machine was busy {machine:.2f} of its 2 cores).")
    gcs = costs["full_gcs"]
    requests = sum(len(v) for v in costs["rows"].values()) + len(costs["cold"])
    lines.append(
        f"- Full (generation 2) garbage collections while serving the {requests} in-process requests "
        f"above: {len(gcs)}" + (f", {min(gcs):.0f}–{max(gcs):.0f} ms CPU each" if gcs else "")
        + f" ({costs['gc_objects']:,} objects tracked by the collector besides those frozen before the first "
        "request, as a web process freezes its start-up objects); a collection runs inside whichever "
        "request allocates past the threshold, and adds its whole pause to that request.")
    return "\n".join(lines)


def soak_section(args, command: str, date: datetime, facts: dict, run: dict | None, hyperparams: dict, history: list[dict],
            results: dict, stored: int, server: dict, worker_errors: dict, cpu: dict, busy_s: float,
            soak_s: float, samples: list[dict], costs: dict, load_before: str, load_after: str,
            total_s: float) -> str:
    """Return the markdown of the Soak section."""
    rows, failures, requests = _client_rows(results)
    server_rows, server_5xx = [], 0
    for name, data in sorted(server.items()):
        st = stats(data["ms"])
        server_5xx += sum(n for code, n in data["status"].items() if code.startswith("5"))
        codes = ", ".join(f"{c}: {n:,}" for c, n in sorted(data["status"].items()))
        server_rows.append(f"| {name} | {st['n']:,} | {codes} | {st['p50']:.0f} | {st['p95']:.0f} | {st['p99']:.0f} |")
    cost_rows = []
    for name, values in sorted(costs["rows"].items()):
        c, w = stats([v["cpu"] for v in values]), stats([v["wall"] for v in values])
        cost_rows.append(f"| {name} | {costs['cold'].get(name, math.nan):.0f} | {c['n']} | {c['p50']:.0f} | "
                         f"{c['p99']:.0f} | {w['p50']:.0f} | {w['p99']:.0f} | "
                         f"{statistics.median(v['queries'] for v in values):.0f} | "
                         f"{statistics.median(v['db'] for v in values):.1f} |")
    tally = results["tally"]
    created = tally.get("created", 0)
    lost = created - stored
    cores = sorted(((name, seconds / soak_s) for name, seconds in cpu.items()), key=lambda kv: -kv[1])
    ours, machine = sum(c for _n, c in cores), busy_s / soak_s
    cpu_rows = "\n".join(f"| {name} | {c:.2f} |" for name, c in cores)
    loads = [float(s["load"].split()[0]) for s in samples]
    backlog_max = {q: max((s["backlog"][q] for s in samples), default=0) for q in ("scoring", "explain")}
    epochs_in_soak = samples[-1]["epochs"] - samples[0]["epochs"] if samples else 0
    last = history[-1] if history else {}
    per_epoch = last.get("elapsed_s", 0.0) / max(len(history), 1)
    recs = stats([m for _t, m in results["times"].get("GET /api/v1/recommendations/", [])])
    why = stats([m for _t, m in results["times"].get("GET /recommendations/[id]/why/", [])])
    why_all = stats([m for name, series in results["times"].items()
                     if name.startswith("GET /recommendations/[id]/why/") for _t, m in series])
    checks = [
        ("server errors (5xx in gunicorn's access log)", server_5xx == 0, f"{server_5xx}"),
        ("failed requests (locust: non-2xx/3xx or network error)", failures == 0, f"{failures}" + (
            f" (apart: {tally['404_replaced']} links, on a page or in the app, to a recommendation a rescoring "
            "replaced between reading the list and the click, answered 404 with what the designed answer says: "
            "the film left the list)" if tally.get("404_replaced") else "")),
        ("events lost (created in 201 answers − stored)",
         lost == 0 and tally.get("unacknowledged_batches", 0) == 0, f"{created:,} − {stored:,} = {lost}"),
        ("p99 GET /api/v1/recommendations/ ≤ 100 ms", recs["p99"] <= 100, f"{recs['p99']:.0f} ms"),
        ('p99 "why this?" page (stored explanation) ≤ 150 ms', why["p99"] <= 150, f"{why['p99']:.0f} ms"),
    ]
    params = ", ".join(f"{k} {v}" for k, v in hyperparams.items())
    training = "**Background training**: none (`--no-training`, a diagnostic run: not a soak)" if run is None else (
        f"**Background training**: run {run['id']}, started through `POST /api/v1/training-runs/` with {params} "
        f"(a larger candidate than the served d=64 model: at this data size a d=64 run meets early stopping "
        f"within minutes); {epochs_in_soak} epochs during the load ({per_epoch:.0f} s per epoch on average; "
        f"the served model's were {facts['epoch_s']:.0f} s before the load); status at the end "
        f"`{run['status']}`, error: {run.get('error') or 'none'}"
        + ("; stopped with the stack after the load (its checkpoint and lease would let a worker resume it)"
           if run["status"] == "running" else ""))
    check_rows = "\n".join(f"| {what} | {value} | {'pass' if ok else '**FAIL**'} |" for what, ok, value in checks)
    reading = _reading(results, server, costs, machine, loads)
    failure_list = "\n".join(f"- `{f}`" for f in results["failures"][:10]) or "- none"
    nl = "\n"
    training_policy = (f"under SCHED_IDLE and the idle I/O class (`chrt --idle 0 ionice -c 3`) and "
                       f"`nice -n {args.training_nice}`"
                       if args.training_policy == "idle" else f"under `nice -n {args.training_nice}`")
    return f"""Command: {command}; one command from a clean clone, {total_s / 60:.1f} min in all
(set-up, {soak_s / 60:.1f} min of load, tear-down). Measured {date.strftime('%Y-%m-%d %H:%M UTC')}.
Machine: 2 cores, no GPU; load average {load_before} before the
load, {load_after} at its end; 1-minute load {min(loads, default=math.nan):.1f}–{max(loads, default=math.nan):.1f}
during it; the whole machine was busy {machine:.2f} of its 2 cores on average, the soak's own
processes (load generator included) {ours:.2f}.

**Stack** (real processes on loopback): gunicorn, {args.web_workers} sync workers (deploy/gunicorn.conf.py's rule on this machine: 2 × cores + 1), on PostgreSQL (`{facts['database']}`,
created and dropped by the run; persistent connections); its own embedded Redis on a TCP
port with append-only persistence (`appendfsync everysec`) as broker, cache and throttle
store (site default rate, 1200/min per person); one Celery worker process each for
`training` ({training_policy}, two torch threads: batch work yields the CPU to
the web, as the deployed unit runs it), `scoring` (one torch thread, normal priority: a person's
refresh) and `explain` (one torch thread, `nice -n {args.explain_nice}`: explanations computed ahead
yield to the pages people are waiting on, as its unit runs it); beat with the database
scheduler (the sweeps every minute).

**Data**: MovieLens 100K read at run time from the shared data folder (never copied): all
1,682 items and the first {args.ml_people} people with all their ratings ({facts['ml_events']:,} events),
plus {args.users} soak people, each with their own account, signed-in browser session and API
token, and a history of the first {facts['history']} events of one MovieLens person. Before the load a
first model was trained ({facts['epochs']} epochs, {facts['seconds']:.0f} s, validation NDCG@10
{facts['val_ndcg']:.3f}) and activated, and everyone was rescored and explained
({facts['explained_s']:.0f} s).

**Load**: locust {_locust_version()} headless (`bench/locustfile.py`, FastHttpUser) on the same
machine: {args.users} people, each thinking {args.wait[0]:g}–{args.wait[1]:g} s between actions, all
started within 20 s. Actions by weight: API list 4; home page 3; home page, 0.5–2 s reading,
then one card's "why this?" page 3 (a page still being prepared reloads after 3 s, as its meta
refresh does; a 404 is checked against the API list: for a film still listed it is a failure, for
one a rescoring replaced meanwhile it is the page that says the film left the list, counted apart
as designed); event batch 2 (1–20 events of view/click/rate/like, each with a client event id;
5% of sends repeat the previous batch whole, as a client that lost an answer does; a 5xx or
network error is retried with the same ids); API list then one explanation 1 (a 202 is asked
again after 2 s); history page 1. Before the load, {facts['warmed']} warm-up requests of every kind
from as many threads as web workers let every worker import its code and build the plot structures; they
are not counted (a cold process's first request of each kind is measured on its own below).
**Achieved {requests / soak_s:.1f} requests/s** ({requests:,}
requests in {soak_s:.0f} s).

Client-side times (ms, request sent to last byte read, measured by locust):

| request | count | failed | p50 | p95 | p99 | max | p99 target |
|---|---:|---:|---:|---:|---:|---:|---|
{nl.join(rows)}

All "why this?" answers together (stored or being prepared): p50 {why_all['p50']:.0f}, p95
{why_all['p95']:.0f}, p99 {why_all['p99']:.0f} ms.

Server-side times (ms, gunicorn's `%(D)s`: request read to answer written inside a worker;
waiting for a free worker is not in it):

| request type | count | statuses | p50 | p95 | p99 |
|---|---:|---|---:|---:|---:|
{nl.join(server_rows)}

Per minute of load (p99 in ms, client side; highest 1-minute load average and explain
backlog of that minute's samples):

| minute | requests | p99 API list | p99 "why this?" | load | explain backlog |
|---:|---:|---:|---:|---:|---:|
{nl.join(_minute_rows(results, samples, args.minutes))}

**Events**: {tally.get('new_events', 0):,} sent in new batches and {tally.get('resent_events', 0):,} in
repeated batches; 201 answers counted **{created:,} created** and {tally.get('duplicates', 0):,}
duplicates; **{stored:,} stored** in the database afterwards;
{results['acked_ids']:,} distinct client ids acknowledged. Batches retried:
{tally.get('retried_batches', 0)}; refused (4xx): {tally.get('refused_batches', 0)}; never acknowledged:
{tally.get('unacknowledged_batches', 0)}.

{training}. Queue backlog (sampled every 5 s): scoring at most {backlog_max['scoring']}, explain at most
{backlog_max['explain']}. Log lines at ERROR or worse: {', '.join(f'{k} {v}' for k, v in worker_errors.items())}.

CPU during the load (cores, user + system, from /proc):

| process | cores |
|---|---:|
{cpu_rows}
| the soak's processes | {ours:.2f} |
| whole machine (other engineers' work included) | {machine:.2f} |

Cost of one request, served in-process by Django's test client after the load ({min(30, args.users - 1)} soak people,
3 rounds; stored explanations only; each graph laid out afresh, as for a page read once; CPU = this
process's CPU time, DB = time in queries):

| request | CPU, first in a process | n | CPU p50 | CPU p99 | wall p50 | wall p99 | queries | DB ms |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
{nl.join(cost_rows)}

**Checks**:

| check | value | verdict |
|---|---|---|
{check_rows}

First failures: {nl + failure_list}

**Where the p99s go** (from the figures above):
{reading}
"""


def _locust_version() -> str:
    from importlib.metadata import version

    return version("locust")
