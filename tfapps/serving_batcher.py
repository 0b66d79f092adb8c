"""`tfapps serve`'s request batching: queued requests share model calls, one call at a time."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tfapps.serving_bodies import BATCH_WAIT_SECONDS, MAX_BATCH, BadRequest

Outputs = dict[str, np.ndarray]


class Batcher:
    """Runs a model on queued requests, one call at a time, several requests a call.

    When the model is free, a request runs at once; requests arriving meanwhile queue and run
    together in the next call, up to `max_batch` examples (the server splits larger requests
    into pieces of at most that size before they queue). When other requests are still being
    read as a call is about to start, it waits up to `wait` seconds for them, so that requests
    arriving together share a call. The model runs on a thread of its own, so requests being
    read or answered on the event loop's worker threads never hold a call up.

    Args:
        call: runs the model on a batch, `{input: array} -> {output: array}` (blocking).
        max_batch: examples per call at most. Defaults to `MAX_BATCH`.
        wait: seconds to wait for requests being read. Defaults to `BATCH_WAIT_SECONDS`.
    """

    def __init__(
        self,
        call: Callable[[dict[str, np.ndarray]], Outputs],
        max_batch: int = MAX_BATCH,
        wait: float = BATCH_WAIT_SECONDS,
    ):
        self.call, self.max_batch, self.wait = call, max_batch, wait
        self.arriving = 0  # requests being read, not yet queued
        self.calls = 0  # model calls so far
        self._queue: collections.deque = collections.deque()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="tfapps-model")

    def start(self) -> None:
        """Starts the worker on the running event loop."""
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stops the worker and the model's thread."""
        if self._worker is not None:
            self._worker.cancel()
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def predict(self, inputs: dict[str, np.ndarray], count: int) -> Outputs:
        """Queues one request of `count` examples and returns its outputs.

        Raises:
            BadRequest: the model refused the request's inputs.
        """
        future = asyncio.get_running_loop().create_future()
        self._queue.append((inputs, count, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                if self.wait and self.arriving:
                    await asyncio.sleep(self.wait)
                batch = [self._queue.popleft()]
                total = batch[0][1]
                while self._queue and total + self._queue[0][1] <= self.max_batch:
                    batch.append(self._queue.popleft())
                    total += batch[-1][1]
                await self._call(batch)

    async def _call(self, batch: list) -> None:
        names = batch[0][0].keys()
        inputs = {name: np.concatenate([request[0][name] for request in batch]) for name in names}
        self.calls += 1
        try:
            outputs = await asyncio.get_running_loop().run_in_executor(
                self._thread, self.call, inputs
            )
        except Exception as error:
            if len(batch) > 1:  # run each request alone: only the one the model refuses hears it
                for request in batch:
                    await self._call([request])
                return
            if not batch[0][2].done():
                batch[0][2].set_exception(BadRequest(f"The model could not run: {error}"))
            return
        start = 0
        for _, count, future in batch:
            if not future.done():
                future.set_result({k: v[start : start + count] for k, v in outputs.items()})
            start += count
