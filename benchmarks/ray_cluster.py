"""A two-node Ray cluster on this machine, a worker killed mid-run, nothing lost or doubled.

    python benchmarks/ray_cluster.py [--letters 12] [--delay 1.0] [--keep]

What it does (everything on 127.0.0.1):

1. A head node with 1 CPU and a second node with 1 CPU of its own, joined to it: a cluster of
   two nodes, each its own raylet. On separate machines that is ``ray start --head`` and
   ``ray start --address HEAD``; on one machine Ray 2.60's ``ray start --address`` refuses a
   second node on the loopback interface (it wants the machine's network address, which this
   workplace does not let a test use), so the nodes are started with Ray's own
   ``ray.cluster_utils.Cluster``, which starts the same processes ``ray start`` does.
2. The local test server answers the gold letters from their labels, each answer after
   ``--delay`` seconds (a model path that takes time, so tasks are in flight when the kill
   comes); ``imr-llm extract LETTERS --ray HEAD -b llm --concurrency 2 -o OUT/`` runs as a
   separate process against the cluster.
3. When the run is under way, a worker of the *second* node running a letters task is killed
   with SIGKILL; Ray runs its task again.
4. Checks: exit code 0, every letter exactly once in ``OUT/records.jsonl`` and the tables, each
   record's contract equal to its label, the killed task's letter asked again (more requests
   than letters), and the requests in flight never more than 2 at once (the cluster-wide
   gate). Then the cluster is shut down (its processes only; never ``ray stop``, which stops
   every Ray on the machine).

It prints what it saw and exits 1 when a check fails. Not a test: it takes a minute or two
and starts a cluster; run it after changing imr_llm/many/ray.py.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from imr_llm.record.models import DeterminationRecord  # noqa: E402
from imr_llm.testing.fake_openai import FakeOpenAIServer  # noqa: E402
from imr_llm.testing.oracle import GoldResponder  # noqa: E402
from imr_llm.testing.processes import descendants, title  # noqa: E402

GOLD = REPO / "eval" / "gold"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=12)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--keep", action="store_true", help="keep the output folder")
    args = parser.parse_args()

    # Token authentication on (Ray 2.60 makes a token, ~/.ray/auth_token); every process says so.
    env = dict(
        os.environ,
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
        RAY_USAGE_STATS_ENABLED="0",
        RAY_AUTH_MODE="token",
    )
    work = Path(tempfile.mkdtemp(prefix="ray-cluster-"))
    letters_dir = work / "letters"
    letters_dir.mkdir()
    names = sorted(p.stem for p in (GOLD / "letters").glob("*.txt"))[: args.letters]
    for name in names:
        (letters_dir / f"{name}.txt").write_bytes((GOLD / "letters" / f"{name}.txt").read_bytes())

    os.environ.update(env)  # the nodes started below are this process's children
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    ok = True
    try:
        second_node = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        address = cluster.address
        raylet = second_node.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process
        head_pid = os.getpid()
        print(f"cluster at {address}: 2 nodes of 1 CPU; the second node's raylet pid {raylet.pid}")

        oracle = GoldResponder.from_gold_dir(GOLD)
        with FakeOpenAIServer(responder=lambda body: oracle(body).with_delay(args.delay)) as srv:
            env_run = dict(env, IMR_LLM_BASE_URL=srv.base_url, IMR_LLM_API_KEY="test-key",
                           IMR_LLM_MODEL="fake-model")  # fmt: skip
            out = work / "out"
            started = time.perf_counter()
            run = subprocess.Popen(
                [str(BIN / "imr-llm"), "extract", str(letters_dir), "--ray", address, "-b", "llm",
                 "--concurrency", "2", "-o", f"{out}/", "--progress-every", "5"],
                env=env_run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            killed: list[int] = []

            def kill_one() -> None:
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline and not killed and run.poll() is None:
                    asked = srv.chat_requests
                    now = time.monotonic()
                    # Two requests in flight (each node's task reads its letters one after
                    # another, so two unanswered requests are one per node): the second
                    # node's worker holds a letter, which Ray's retry must ask again.
                    if (
                        len(asked) >= 3
                        and now - asked[-1].received_at < 0.3
                        and now - asked[-2].received_at < args.delay - 0.3
                    ):
                        for pid in descendants(raylet.pid):
                            if title(pid).startswith("ray::") and "_extract_batch" in title(pid):
                                os.kill(pid, signal.SIGKILL)
                                killed.append(pid)
                                break
                    time.sleep(0.02)

            seen: dict[str, list[str]] = {}

            def look() -> None:  # which tasks ran on which node (process titles)
                while run.poll() is None:
                    second = set(descendants(raylet.pid))
                    others = set(descendants(head_pid)) - second
                    for label, pids in (("second", second), ("head", others)):
                        for pid in pids:
                            name = title(pid).strip().split(" ")[0]
                            if name.startswith("ray::") and name not in seen.setdefault(label, []):
                                seen[label].append(name)
                    time.sleep(0.2)

            threading.Thread(target=look, daemon=True).start()
            killer = threading.Thread(target=kill_one, daemon=True)
            killer.start()
            stdout, stderr = run.communicate(timeout=900)
            seconds = time.perf_counter() - started
            killer.join(timeout=5)
            requests = srv.chat_requests
        print(f"imr-llm exited {run.returncode} after {seconds:.1f} s; its summary:")
        for line in [x for x in stderr.splitlines() if "letter(s)" in x or x.startswith("error")]:
            print("  " + line)
        if run.returncode != 0:
            print(stderr[-3000:])
        print(f"killed worker on the second node: {killed or 'none found'}")
        for label, titles in seen.items():
            print(f"  {label} node ran: {', '.join(sorted(set(titles)))}")
        starts = sorted(r.received_at for r in requests)
        at_once = max(
            (sum(1 for s in starts if t - args.delay + 0.05 < s <= t) for t in starts), default=0
        )
        print(f"requests: {len(requests)} for {len(names)} letters; most at once {at_once}")

        records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
        stems = sorted(Path(r["metadata"]["source"]).stem for r in records)
        right = sum(
            DeterminationRecord.model_validate(r).contract_dict()
            == json.loads((GOLD / "labels" / f"{Path(r['metadata']['source']).stem}.json")
                          .read_text())
            for r in records
        )  # fmt: skip
        checks = {
            "exit code 0": run.returncode == 0,
            "a worker was killed": bool(killed),
            "every letter exactly once": stems == names,
            "every record equal to its label": right == len(names),
            "the killed task's letter asked again": len(requests) > len(names),
            "at most 2 requests in flight (the gate)": at_once <= 2,
            "tables written": (out / "letters.parquet").is_file(),
        }
        for what, passed in checks.items():
            print(f"  {'ok ' if passed else 'FAIL'} {what}")
        ok = all(checks.values())
    finally:
        cluster.shutdown()
        print("both nodes stopped")
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
