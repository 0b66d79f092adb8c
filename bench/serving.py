"""Predictions through a run's SavedModel, batched in-process or over HTTP from `tfapps serve`.

`batched RUN_DIR`: loads the SavedModel as a user without tfapps would (`tf.saved_model.load`)
and calls `serving_default` on batches of raw test inputs (`tfapps predict`'s batch size) for
`--seconds`, after a few warm-up calls.

`http RUN_DIR ...`: starts `tfapps serve` on a free loopback port for the runs, then, for each
model and each number of concurrent clients, runs that many client threads for `--seconds` (at
most `MAX_REQUESTS` requests a client), each sending one-example `:predict` requests one after
another on a connection of its own (`http.client`, keep-alive). Only 127.0.0.1 is contacted.

Either prints one JSON line.

Usage:
    python -m bench.serving batched saved_models/sentiment/movie_reviews/<run-id> --seconds 3
    python -m bench.serving http RUN_DIR [RUN_DIR ...] --clients 1 8 32 --seconds 5
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import tfapps_internals
from bench.runner import TFAPPS

WARM_UP_CALLS = 3
MAX_REQUESTS = 20_000
READY_SECONDS = 120


def batched(run_dir: Path, seconds: float) -> dict:
    """Examples per second of `serving_default` on full batches, for `seconds`."""
    signature, batch = tfapps_internals.serving_batch(run_dir)
    size = len(next(iter(batch.values())))
    for _ in range(WARM_UP_CALLS):
        signature(**batch)["predictions"].numpy()
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        signature(**batch)["predictions"].numpy()
        calls += 1
    elapsed = time.perf_counter() - started
    return {"batch_size": size, "calls": calls, "examples_per_second": calls * size / elapsed}


def load(port: int, path: str, body: bytes, seconds: float, clients: int) -> dict:
    """Runs `clients` threads sending `body` to `path` for `seconds`; returns requests/s,
    p50 and p99 latency in ms, and errors."""
    deadline = time.perf_counter() + seconds

    def client(_) -> tuple[list[float], int]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors = [], 0
        for _ in range(MAX_REQUESTS):
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            try:
                connection.request("POST", path, body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                errors += response.status != 200
            except (OSError, http.client.HTTPException):
                errors += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies.append(time.perf_counter() - started)
        connection.close()
        return latencies, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - started
    every = sorted(t for latencies, _ in done for t in latencies)
    return {
        "clients": clients,
        "requests": len(every),
        "requests_per_second": len(every) / elapsed,
        "p50_ms": 1000 * statistics.median(every),
        "p99_ms": 1000 * every[min(len(every) - 1, int(0.99 * len(every)))],
        "errors": sum(errors for _, errors in done),
    }


def served(run_dirs: list[Path], clients: list[int], seconds: float) -> dict[str, list[dict]]:
    """`load` at each number of `clients` for each run, all served by one `tfapps serve`."""
    requests = [tfapps_internals.example_request(run) for run in run_dirs]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [str(TFAPPS), "serve", *map(str, run_dirs), "--port", str(port)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_ready(port, requests[0][0], server)
        results = {}
        for name, request in requests:
            body, path = json.dumps(request).encode(), f"/v1/models/{name}:predict"
            load(port, path, body, 1.0, max(clients))  # warm-up
            results[name] = [load(port, path, body, seconds, n) for n in clients]
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def _wait_until_ready(port: int, name: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"tfapps serve stopped: {server.stderr.read()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", f"/v1/models/{name}")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("tfapps serve did not answer in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("batched", "http"))
    parser.add_argument("run_dirs", nargs="+", type=Path, help="finished tfapps runs")
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 8, 32], help="(http)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time of each measurement")
    options = parser.parse_args()
    if options.mode == "batched":
        print(json.dumps(batched(options.run_dirs[0], options.seconds)))
    else:
        print(json.dumps(served(options.run_dirs, options.clients, options.seconds)))


if __name__ == "__main__":
    main()
