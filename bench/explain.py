"""How faithful and how fast are the explanations? Measured on ML-1M with a trained model.

    .venv/bin/python -m bench.explain train [--data ../shared/data/movielens-1m/ml-1m.txt] \\
        [--epochs 6] [--out var/bench/explain-ml1m.ckpt]
    .venv/bin/python -m bench.explain measure [--people 0] [--write-docs]

`train` trains the site's default model (ModelConfig/TrainConfig defaults, a bounded
number of epochs) with recommender.ml.train.Trainer and saves a checkpoint with its
test NDCG@10 / HR@10 (full ranking, leave-one-out). `measure` explains every test
person's top 10 (history = everything but the test item, history items excluded from the
ranking, as on the site) with explain.attribution on one process and one torch thread,
times each person, and times the "why this?" page over stored records; `--write-docs`
replaces the "Explanations" section of docs/benchmarks.md.

Longer than the project's ~400 lines: training, measuring and writing the section are one
benchmark's steps and share its loaders and its record of the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "movielens-1m" / "ml-1m.txt"
CKPT = ROOT / "var" / "bench" / "explain-ml1m.ckpt"


def load_data(path: str):
    """Return (SequenceData, {external id: [genre, ...]}, {external id: title}) of a data set,
    or of the site's own histories that `bench.served` kept in the folder ``path``."""
    from recommender.importing.readers import read_dataset
    from recommender.ml.data import build_sequences

    served = Path(path) / "data.pickle"
    if served.is_file():
        import pickle

        with served.open("rb") as f:
            kept = pickle.load(f)  # written by bench.served from this project's own types
        items = kept["items"]
        return (kept["data"], {k: v["genres"] for k, v in items.items()},
                {k: v["title"] for k, v in items.items()})

    parsed = read_dataset(path, "auto")
    rows = [(e.user, e.item, e.timestamp, e.kind, e.value) for e in parsed.events]
    genres = {it.external_id: list(it.genres) for it in parsed.items}
    titles = {it.external_id: it.title for it in parsed.items}
    return build_sequences(rows), genres, titles


def train(args: argparse.Namespace) -> None:
    """Train the default model for a bounded number of epochs; save it with its test metrics."""
    import torch

    from recommender.ml.checkpoint import save_checkpoint
    from recommender.ml.evaluate import model_ranks, summarize
    from recommender.ml.model import ModelConfig
    from recommender.ml.train import TrainConfig, Trainer

    torch.set_num_threads(args.threads)
    data, _genres, _titles = load_data(args.data)
    mcfg = ModelConfig(n_items=data.n_items)
    tcfg = TrainConfig(max_epochs=args.epochs, val_users=args.val_users, time_budget_s=args.budget_min * 60)

    def progress(p):
        print(f"epoch {p.epoch} loss {p.loss:.4f} val ndcg@10 {p.val_ndcg} {p.elapsed_s:.0f}s", flush=True)

    trainer = Trainer(data, mcfg, tcfg, [progress])
    resumable = Path(args.out).with_suffix(".train.ckpt")  # survives an interrupted run
    state = trainer.fit(resume_from=resumable if resumable.exists() else None,
                        checkpoint_path=resumable)
    model = state.best_model()
    test = summarize(model_ranks(model, trainer.split.test))
    metrics = {"test_ndcg@10": test["ndcg@10"], "test_hr@10": test["hr@10"],
               "val_ndcg@10": state.best_ndcg, "best_epoch": state.best_epoch,
               "epochs": state.epoch, "train_seconds": round(state.elapsed_s, 1)}
    print(json.dumps(metrics), flush=True)
    save_checkpoint(args.out, config=mcfg, item_map=data.item_map,
                    payload={"model": model.state_dict()}, metrics=metrics,
                    meta={"train_config": tcfg.to_dict(), "data": str(args.data)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", default=str(DATA))
    t.add_argument("--epochs", type=int, default=6)
    t.add_argument("--val-users", type=int, default=1000)
    t.add_argument("--budget-min", type=float, default=0.0, help="stop after the epoch crossing it")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--out", default=str(CKPT))
    m = sub.add_parser("measure")
    m.add_argument("--data", default=str(DATA))
    m.add_argument("--ckpt", default=str(CKPT))
    m.add_argument("--served", default="", help="a bench.served folder: its activated version "
                   "on the site's own histories (sets --data and --ckpt)")
    m.add_argument("--people", type=int, default=0, help="0 = every test person")
    m.add_argument("--page-people", type=int, default=200, help="people whose records the page test stores")
    m.add_argument("--processes", type=int, default=1,
                   help="explain the people in this many processes (each one torch thread)")
    m.add_argument("--write-docs", action="store_true")
    pg = sub.add_parser("page", help="time the page over the records in DATABASE_URL (run by measure)")
    pg.add_argument("--requests", type=int, default=400)
    d = sub.add_parser("docs", help="rewrite the docs section from bench/results/explain.json")
    d.add_argument("--people", type=int, default=0)
    args = parser.parse_args()
    if getattr(args, "served", ""):
        args.data, args.ckpt = args.served, str(Path(args.served) / "model.ckpt")
    if args.command == "train":
        train(args)
    elif args.command == "page":
        print(json.dumps(time_page(args.requests)))
    elif args.command == "docs":
        write_docs(json.loads((ROOT / "bench" / "results" / "explain.json").read_text()), args)
    else:
        measure(args)


def _explain_share(task: tuple[str, str, list[int]]) -> list[tuple[int, float, list[int], object]]:
    """Explain some test people's top 10 in this process, one torch thread; return, per
    person, (index, seconds, history, PersonExplanation)."""
    import torch

    from explain.attribution import explain_history
    from recommender.ml.checkpoint import load_checkpoint
    from recommender.ml.data import batch_of, leave_one_out

    data_path, ckpt_path, people = task
    torch.set_num_threads(1)  # one worker process, one torch thread, as the explain worker runs
    data, _genres, _titles = load_data(data_path)
    model = load_checkpoint(ckpt_path).build_model("best")
    split = leave_one_out(data)
    out, seconds = [], []
    for n, p in enumerate(people):
        history = split.test[p][0][-model.cfg.max_len:]  # all but the test item
        started = time.perf_counter()
        with torch.no_grad():
            mask = torch.zeros(1, data.n_items + 1, dtype=torch.bool)
            mask[0, list(set(split.test[p][0].items))] = True
            top = model.full_sort_predict(*batch_of([history], model.cfg.max_len),
                                          exclude=mask)[0].topk(10).indices.tolist()
        person = explain_history(model, history, top, exclude=set(split.test[p][0].items))
        seconds.append(time.perf_counter() - started)
        out.append((p, seconds[-1], history, person))
        if n % 250 == 0:
            print(f"  [{os.getpid()}] {n}/{len(people)} people, p95 {percentile(seconds, 95):.3f} s", flush=True)
    return out


METHODS = ("head", "terms", "weights", "rollout", "random", "loo")


def comp_key(method: str) -> str:
    """Return the faithfulness key of a method's score drop at 3 (the shown one is "comprehensiveness")."""
    return f"{'comprehensiveness' if method == 'head' else method}_at_3"


def measure(args: argparse.Namespace) -> None:
    """Explain the test people's top 10, then time the page over stored records."""
    import multiprocessing
    import statistics

    import torch

    from recommender.ml.checkpoint import load_checkpoint
    from recommender.ml.data import leave_one_out
    from recommender.ml.evaluate import model_ranks, summarize

    data, genres, titles = load_data(args.data)
    ckpt = load_checkpoint(args.ckpt)
    if ckpt.item_map != data.item_map:
        raise SystemExit("the checkpoint was trained on other data")
    split = leave_one_out(data)
    model_info = {k: ckpt.metrics.get(k) for k in ("test_ndcg@10", "test_hr@10", "val_ndcg@10", "best_epoch", "epochs")}
    model_info["epochs"] = model_info["epochs"] or ckpt.meta.get("epoch")
    if model_info["test_ndcg@10"] is None:  # a bench.model checkpoint: measure it here
        torch.set_num_threads(args.processes)
        test = summarize(model_ranks(ckpt.build_model("best"), split.test))
        model_info.update({"test_ndcg@10": test["ndcg@10"], "test_hr@10": test["hr@10"]})
    people = list(range(len(split.test)))
    if args.people:
        people = sorted(random.Random(0).sample(people, min(args.people, len(people))))
    shares = [(args.data, args.ckpt, people[i::args.processes]) for i in range(args.processes)]
    if args.processes == 1:
        parts = [_explain_share(shares[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
            parts = pool.map(_explain_share, shares)
    seconds, records, top_lists = [], [], {}
    for p, took, history, person in sorted((row for part in parts for row in part), key=lambda row: row[0]):
        seconds.append(took)
        top_lists[p] = (history, person)
        records += person.items
    f = [e.faithfulness for e in records]
    found = [e.counterfactual for e in records if e.counterfactual["found"]]

    def mean(key: str) -> float:
        return statistics.fmean(x[key] for x in f)

    def beats_random(key: str) -> float:
        return sum(x[key] > x["random_at_3"] for x in f) / len(f)

    suffix = {"head": "", "terms": "_terms", "weights": "_weights", "rollout": "_rollout"}
    result = {
        "model": model_info,
        "checkpoint": str(args.ckpt),
        "people": len(people), "recommendations": len(records), "processes": args.processes,
        "verified_share": sum(x["verified"] for x in f) / len(f),
        "beats_random_at_3": {m: beats_random(comp_key(m)) for m in ("head", "terms", "weights", "rollout", "loo")},
        "comprehensiveness_at_3": {m: mean(comp_key(m)) for m in METHODS},
        "rank_after_at_3": {m: statistics.median(x[f"rank_after_{m}_at_3"] for x in f) for m in METHODS},
        "kendall_tau": {m: mean(f"kendall_tau{s}") for m, s in suffix.items()},
        "top3_overlap": {m: mean(f"top3_overlap{s}") for m, s in suffix.items()},
        # why explanations fail the check: removing the named items *raises* the score
        "unverified_with_negative_drop": sum((not x["verified"]) and x["comprehensiveness_at_3"] < 0 for x in f)
        / max(1, sum(not x["verified"] for x in f)),
        "counterfactual_found_share": len(found) / len(records),
        "counterfactual_mean_size": statistics.fmean(len(c["removed"]) for c in found) if found else None,
        "compute_s": {"p50": percentile(seconds, 50), "p95": percentile(seconds, 95), "max": max(seconds)},
    }
    result["page_ms"] = page_times(data, genres, titles, top_lists, sample=args.page_people)
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "explain.json").write_text(json.dumps(result, indent=2))
    if args.write_docs:
        write_docs(result, args)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))]


def page_times(data, genres, titles, top_lists: dict, *, sample: int, requests: int = 400) -> dict:
    """Store the records of `sample` people in a throwaway database; time the page in a
    fresh process that holds what a web process holds (Django, no torch, no data set).

    Server time only (Django's test client: middleware, the view, the queries, building the
    three Bokeh figures and the template), no network; SQLite; one process.
    """
    import os
    import tempfile
    from datetime import timedelta

    folder = Path(tempfile.mkdtemp(prefix="recsite-bench-explain-"))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "recsite.settings.local", "DJANGO_DEBUG": "false",
                       "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "DJANGO_LOG_LEVEL": "WARNING",
                       "DJANGO_ALLOWED_HOSTS": "testserver"})
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from explain.compute import _records
    from explain.models import Explanation, ExplanationStatus
    from recommender.models import Event, Genre, Item, ModelVersion, Recommendation
    from recsite.accounts.models import User

    call_command("migrate", verbosity=0)
    ext = data.item_map.external_ids
    genre_rows = {g: Genre.objects.create(name=g) for g in sorted({g for gs in genres.values() for g in gs})}
    items = Item.objects.bulk_create([Item(external_id=e, title=titles.get(e, e)) for e in ext])
    pk_of = {it.external_id: it.pk for it in items}
    through = Item.genres.through
    through.objects.bulk_create([through(item_id=pk_of[e], genre_id=genre_rows[g].pk)
                                 for e in ext for g in genres.get(e, ())])
    version = ModelVersion.objects.create(artifact_path="-", checksum="-", is_active=True)
    # the page reads Item primary keys; records store them, so map model index -> pk
    item_ids = [str(pk_of[e]) for e in ext]
    chosen = sorted(top_lists)[:sample]
    now = timezone.now()
    users = []
    for p in chosen:
        history, person = top_lists[p]
        user = User.objects.create_user(username=f"u{p}", password=None)
        users.append((user, [item_ids[i - 1] for i in person.top]))
        start = now - timedelta(days=1)
        Event.objects.bulk_create([Event(user=user, item_id=int(item_ids[i - 1]), kind=EVENT_OF[sg][0],
                                         value=EVENT_OF[sg][1], occurred_at=start + timedelta(seconds=t))
                                   for t, (i, sg) in enumerate(zip(history.items, history.signals))])
        Recommendation.objects.bulk_create([Recommendation(user=user, item_id=int(item_ids[i - 1]), rank=r,
                                                           score=0.0, model_version=version, computed_at=now)
                                            for r, i in enumerate(person.top, start=1)])
        Explanation.objects.bulk_create([
            Explanation(user=user, item_id=int(item_ids[e.item - 1]), model_version=version, for_computed_at=now,
                        status=ExplanationStatus.READY, rank=e.rank, verified=rec["faithfulness"]["verified"],
                        data=rec, computed_at=now)
            for e, rec in zip(person.items, _records(person, item_ids), strict=True)])
    # this process holds the model, torch and a million-event data set, whose garbage
    # collections (hundreds of milliseconds each) no web process pays: time the page apart
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bench.explain", "page", "--requests", str(requests)],
                         env=os.environ.copy(), cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return {"people": len(users), **json.loads(out.strip().splitlines()[-1])}


def time_page(requests: int) -> dict:
    """Time the "why this?" page in this process, started as a web process starts
    (``recsite.wsgi``), over the records of the database in DATABASE_URL (``page_times``):
    ``requests`` after a warm-up of 20, seeded choices."""
    import random as rnd

    from django.test import Client

    from recsite import wsgi  # as a web process starts: django.setup(), warm-up, gc.freeze()

    wsgi.warmed.wait(300)
    from recommender.models import Recommendation
    from recsite.accounts.models import User

    tops: dict[int, list[int]] = {}
    for user_id, item_id in Recommendation.objects.order_by("user_id", "rank").values_list("user_id", "item_id"):
        tops.setdefault(user_id, []).append(item_id)
    users = [(User.objects.get(pk=u), top) for u, top in sorted(tops.items())]
    client = Client()
    times = []
    rng = rnd.Random(1)
    for n in range(requests + 20):
        user, top = rng.choice(users)
        client.force_login(user)
        started = time.perf_counter()
        response = client.get(f"/recommendations/{rng.choice(top)}/why/")
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200 and b"explain-heatmap-data" in response.content, response.status_code
        if n >= 20:  # warm-up: first imports and template compilation
            times.append(elapsed)
    return {"requests": len(times), "p50": percentile(times, 50), "p95": percentile(times, 95),
            "p99": percentile(times, 99)}


# the event that gives each signal, to store a history as the site would hold it
EVENT_OF = {1: ("rate", None), 2: ("rate", 2.0), 3: ("rate", 3.0), 4: ("rate", 4.0), 5: ("rate", 5.0),
            6: ("like", None), 7: ("purchase", None), 8: ("click", None), 9: ("view", None)}


def write_docs(r: dict, args: argparse.Namespace) -> None:
    """Replace the "Explanations" section of docs/benchmarks.md."""
    import platform
    from datetime import datetime

    from bench._stack import write_section

    m = r["model"]
    c3, tau, ov, ra, br = (r[k] for k in ("comprehensiveness_at_3", "kendall_tau", "top3_overlap",
                                          "rank_after_at_3", "beats_random_at_3"))
    source = (f"--served {args.served}" if getattr(args, "served", "") else f"--ckpt {r['checkpoint']}")
    cmd = ("`.venv/bin/python -m bench.explain measure" + (f" --people {args.people}" if args.people else "")
           + f" --processes {r['processes']} {source} --page-people {r['page_ms']['people']}"
           " --write-docs`")
    what = ("the version the site activated (section \"Served model\"), on the site's own histories"
            if getattr(args, "served", "") else "a checkpoint of the site's default configuration")
    scope = "every test person" if not args.people else f"a seeded random sample of {r['people']} test people"
    write_section("Explanations", f"""
Command: {cmd}: {what}.
Machine: {platform.machine()}, 2 cores, no GPU, {datetime.now().strftime('%Y-%m-%d %H:%M')} UTC;
{r['processes']} process(es) of one torch thread each, side by side.
Model: test NDCG@10 {fmt(m.get('test_ndcg@10'))}, HR@10 {fmt(m.get('test_hr@10'))} (full ranking,
leave-one-out by time, history excluded), {m.get('epochs')} epochs, best epoch {m.get('best_epoch')}.
Scope: {scope}; each person's top 10 (history = all but the test item, history items
excluded from the ranking) = {r['recommendations']:,} recommendations. Removal re-ranks every
item with the same exclusions (rank = 1 + items scored strictly higher); the entries left
keep their places in time, as they would with real timestamps, and a history with entries
removed is encoded only from its first removed entry on, continuing the whole history's
cached keys and values (the same ranks as encoding it whole:
`tests/explain/test_attribution.py`).

The score is a sum of one term per history entry (docs/design.md, "Scoring"). What a page
names ("shown") are the entries with the largest **contributions**: what removing each entry
alone takes from the score with the encoder's state held, computed exactly in closed form
(its readout weight and head weights go back to the others, the readout is normalised
again; `tests/recommender/ml/test_model.py`). Leave-one-out also lets the encoder read the
shorter history, which the contributions hold fixed. "Terms" are each entry's exact part of
the score; the weights say where the head looked, not what pushed the item up.

| | contributions (shown) | terms | head weights | encoder rollout | random 3 (10 draws) | leave-one-out top 3 (ceiling) |
|---|---:|---:|---:|---:|---:|---:|
| mean comprehensiveness@3 (score drop) | {c3['head']:.3f} | {c3['terms']:.3f} | {c3['weights']:.3f} | {c3['rollout']:.3f} | {c3['random']:.3f} | {c3['loo']:.3f} |
| share beating random-3 removal | {br['head']:.1%} | {br['terms']:.1%} | {br['weights']:.1%} | {br['rollout']:.1%} | | {br['loo']:.1%} |
| median rank after removing those 3 | {ra['head']:.0f} | {ra['terms']:.0f} | {ra['weights']:.0f} | {ra['rollout']:.0f} | {ra['random']:.0f} | {ra['loo']:.0f} |
| mean Kendall τ with leave-one-out | {tau['head']:.3f} | {tau['terms']:.3f} | {tau['weights']:.3f} | {tau['rollout']:.3f} | | |
| mean top-3 overlap with leave-one-out | {ov['head']:.3f} | {ov['terms']:.3f} | {ov['weights']:.3f} | {ov['rollout']:.3f} | | |

| measure | value | target |
|---|---:|---|
| checked: shown top 3 beat random-3 removal and removing them does not raise the item | {r['verified_share']:.1%} | ≥ 95% |
| Kendall τ, shown contributions against leave-one-out on the final score | {tau['head']:.3f} | ≥ 0.5 |
| counterfactual found within 5 removals (out of the top 10) | {r['counterfactual_found_share']:.1%} | ≥ 85% |
| mean counterfactual set size (when found) | {fmt(r['counterfactual_mean_size'], 2)} | |
| explanation compute per person, top 10, one process, one thread: p50 / p95 | {r['compute_s']['p50']:.3f} s / {r['compute_s']['p95']:.3f} s | p95 ≤ 1 s |
| "why this?" page server time with stored records: p50 / p95 / p99 | {r['page_ms']['p50']:.0f} / {r['page_ms']['p95']:.0f} / {r['page_ms']['p99']:.0f} ms | p99 ≤ 150 ms |

Of the explanations that fail the check, {r['unverified_with_negative_drop']:.0%} fail because removing the
three named entries *raises* the score (through the encoder's reading of the shorter
history); those pages say the check failed and name the leave-one-out items instead.

The page time is measured with Django's test client ({r['page_ms']['requests']} requests
over {r['page_ms']['people']} people's stored records in SQLite, local settings with DEBUG off), in a
fresh process started as the web process starts (`recsite.wsgi`: warm-up, then
`gc.freeze()`), holding what it holds (no torch, no data set): middleware,
queries, building the three Bokeh figures and rendering; no network, no gunicorn.
""")


def fmt(value, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    main()
