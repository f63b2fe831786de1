"""Run an asyncio main in its own thread and event loop, so a test can use blocking
clients (and kill brokers) while it runs; stop() sets its stop event and re-raises
whatever the main raised."""
from __future__ import annotations

import asyncio
import threading


class BackgroundLoop:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    async def main(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; call self.ready() once set up."""
        raise NotImplementedError

    def ready(self) -> None:
        self._ready.set()

    def _main(self) -> None:
        async def go() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.main(self._stop)
        try:
            asyncio.run(go())
        except BaseException as exc:  # surfaced by stop()
            self.error = exc
        finally:
            self._ready.set()

    def __enter__(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        if self.error is not None:
            raise self.error
