"""Serve the simulator with uvicorn in a daemon thread on a loopback port (the app's embedded default)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn

from dashboard.simulator.app import SimulatorOptions, create_app
from dashboard.simulator.middleware import DroppedConnection
from dashboard.simulator.world import World

__all__ = ["RunningSimulator", "start_simulator"]


class _InjectedDropFilter(logging.Filter):
    """Hide uvicorn's error report for connections the simulator drops on purpose (fault injection)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def _quiet_injected_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InjectedDropFilter) for f in logger.filters):
        logger.addFilter(_InjectedDropFilter())


class RunningSimulator:
    """A simulator served on ``base_url``; ``stop()`` shuts uvicorn down and frees the port and thread."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket, host: str,
                 port: int) -> None:
        self._server = server
        self._thread = thread
        self._socket = sock
        self.host = host
        self.port = port
        self.app = server.config.app

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            self._socket.close()
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"simulator on {self.base_url} did not stop within {2 * timeout:.0f} s")

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_simulator(world: World, options: SimulatorOptions | None = None, host: str = "127.0.0.1",
                    port: int = 0, *, startup_timeout: float = 15.0, log_level: str = "warning") -> RunningSimulator:
    """Bind ``host:port`` (0 = a free port) now, serve in a daemon thread, return once it accepts requests."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot bind the simulator to {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    bound_port = sock.getsockname()[1]
    # log_config=None: uvicorn would otherwise bind a handler to the stderr of the moment (under pytest a
    # capture stream that is closed by the time the server stops at exit); records go to the root logger.
    # date_header=False: the app sets Date itself, from the simulator's (possibly skewed) clock.
    config = uvicorn.Config(create_app(world, options), log_level=log_level, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2, log_config=None, date_header=False)
    _quiet_injected_drops()
    server = uvicorn.Server(config)
    # uvicorn installs signal handlers only on the main thread; this one is not.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"khoros-simulator-{bound_port}")
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError(f"the simulator on {host}:{bound_port} exited during start-up")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            sock.close()
            raise RuntimeError(f"the simulator on {host}:{bound_port} did not start within {startup_timeout} s")
        time.sleep(0.01)
    return RunningSimulator(server, thread, sock, host, bound_port)
