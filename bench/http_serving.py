"""`tfapps serve` under load: requests/s and latency of single-example requests over HTTP.

Starts `tfapps serve` on a free loopback port for the given runs, then, for each model and
each number of concurrent clients, runs that many client threads for `--seconds` (at most
`MAX_REQUESTS` requests a client), each sending one-example `:predict` requests one after
another on a connection of its own (`http.client`, keep-alive), and prints one JSON line:
requests/s, p50 and p99 latency, and errors. Only 127.0.0.1 is ever contacted.

Usage:
    python -m bench.http_serving RUN_DIR [RUN_DIR ...] --clients 1 8 32 --seconds 5
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

TFAPPS = Path(sys.executable).parent / "tfapps"
MAX_REQUESTS = 20_000
READY_SECONDS = 120


def example_request(record: dict) -> dict:
    """One example a user of the task would send: a PNG image, a review, a table row."""
    task = record["task"]
    if task == "image-classify":
        from PIL import Image

        height, width, channels = record["dataset"]["input_shape"]
        pixels = np.random.default_rng(0).integers(0, 255, (height, width), dtype=np.uint8)
        png = io.BytesIO()
        Image.fromarray(pixels).convert("L" if channels == 1 else "RGB").save(png, "PNG")
        return {"instances": [{"b64": base64.b64encode(png.getvalue()).decode()}]}
    if task == "sentiment":
        return {"instances": ["A wonderful film, though the ending drags."]}
    row = {c["input"]: c.get("median", 1.0) for c in record["dataset"]["details"]["columns"]}
    for column in record["dataset"]["details"]["columns"]:
        if column["kind"] == "categorical":
            row[column["input"]] = ""
    return {"instances": [row]}


def load(port: int, path: str, body: bytes, seconds: float, clients: int) -> dict:
    """Runs `clients` threads sending `body` to `path` for `seconds`; returns the figures."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        for _ in range(MAX_REQUESTS):
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies[index].append(time.perf_counter() - started)
            errors[index] += not ok
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(t for per_client in latencies for t in per_client)
    return {
        "clients": clients,
        "requests": len(every),
        "requests_per_second": len(every) / elapsed,
        "p50_ms": 1000 * statistics.median(every),
        "p99_ms": 1000 * every[min(len(every) - 1, int(0.99 * len(every)))],
        "errors": sum(errors),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
    parser.add_argument("run_dirs", nargs="+", type=Path, help="finished tfapps runs")
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=5.0, help="per client count")
    options = parser.parse_args()
    records = [json.loads((run / "run.json").read_text()) for run in options.run_dirs]
    names = [record["task"] for record in records]
    port = _free_port()
    args = [str(TFAPPS), "serve", *map(str, options.run_dirs), "--port", str(port)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_ready(port, names[0], server)
        results = {}
        for name, record in zip(names, records, strict=True):
            body = json.dumps(example_request(record)).encode()
            path = f"/v1/models/{name}:predict"
            load(port, path, body, 1.0, max(options.clients))  # warm-up
            results[name] = [load(port, path, body, options.seconds, n) for n in options.clients]
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
