"""The local cloud over HTTP for local processes (the reference batch worker's children): a moto server on a free
port of 127.0.0.1, started on first use, serving the same in-process backends as the embedded cloud (moto's
``ThreadedMotoServer``, what `mlcp local serve` runs on its fixed port)."""

from __future__ import annotations

import logging
from typing import Any


class HttpEndpoint:
    """``url()`` starts the server once (or returns ``fixed``, `serve`'s own server); ``stop()`` stops it."""

    def __init__(self) -> None:
        self.fixed: str | None = None
        self._server: Any = None
        self._url: str | None = None

    def url(self) -> str:
        if self.fixed is not None:
            return self.fixed
        if self._url is None:
            from moto.server import ThreadedMotoServer  # noqa: PLC0415 - only when a process needs it

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access-log line per request
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            self._server, self._url = server, f"http://127.0.0.1:{server.get_host_and_port()[1]}"
        return self._url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server, self._url = None, None
