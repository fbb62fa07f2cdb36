#!/usr/bin/env python3
"""A TCP proxy on loopback that adds network latency, to measure what a remote database costs.

Our users' database is a hosted Supabase: every round trip costs 20-150 ms, on loopback it costs
~0.05 ms, so a write path that makes many round trips looks free here and is slow there. Put this
proxy between the client and a local server (PostgreSQL's wire protocol, HTTP/1.1 keep-alive, any
TCP protocol) and it:

- delays every chunk by ``delay_ms`` **in each direction**: a request/answer round trip costs
  ``2 x delay_ms``. To avoid the confusion, ``rtt_ms`` is the main parameter: ``rtt_ms=40`` (CLI
  ``--rtt-ms 40``) means 20 ms each way; ``delay_ms`` (``--delay-ms``) is the one-way figure.
- schedules each chunk at *its arrival time + delay* (not "sleep, then send, then sleep" per
  chunk), so a reply streamed in 100 chunks costs one delay, not 100; bytes keep their order
  within each direction of each connection, and connections never wait for each other (every
  connection has its own pair of pipes on one asyncio loop).
- passes a half-close through: EOF from one side becomes ``shutdown(SHUT_WR)`` on the other after
  the bytes before it (delayed like them), while the other direction keeps flowing; the
  connection is closed when both directions have ended (or one side resets it).
- reports its own fidelity: ``max_lag_ms``, ``lag_ms_total`` and ``chunks_late`` say how much
  later than due chunks went out (the loop wakes late when the machine's CPUs are busy; the
  design itself adds no lag, and a late chunk does not delay the chunks due after it further).
- counts connections, bytes and chunks each way, and **round trips**: per connection, the number
  of client "turns" = times the client->server direction starts sending again after the server
  has sent something, plus the client's first send. A request answered by the server is one
  turn; a request written in several chunks is still one; pipelined requests sent before any
  answer are one. Connection set-up has turns of its own (PostgreSQL over psycopg: 1 with
  ``sslmode=disable``, 2 with the default ``sslmode=prefer`` (SSLRequest, then the startup
  message), and closing sends a Terminate, one more); HTTP has none. Subtract them using the
  per-connection figures in ``stats()["per_connection"]`` (see ``benchmarks/bench_remote.py``).

What it does not simulate: the TCP handshake (the kernel accepts the client at once: a real
connect costs one more RTT), TLS (1-2 RTTs per new connection against Supabase), bandwidth
limits, jitter or loss. It measures the round trips of the protocol, which is what batching changes.

Library::

    proxy = DelayProxy("127.0.0.1", 5432, rtt_ms=40).start()
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres"
    ...
    proxy.stats()    # {"connections": 1, "round_trips": 12, "bytes_client_to_server": ..., ...}
    proxy.reset()
    proxy.stop()

``ProxyProcess`` is the same thing in a child process (same ``start``/``stop``/``port``/
``stats``/``reset``), for benchmarks whose own process is busy: a proxy thread beside Python
work waits for the GIL (up to the 5 ms switch interval) before it can forward a chunk.

Command line (prints the port it listens on, and the counters when stopped with Ctrl+C)::

    python benchmarks/delay_proxy.py --target 127.0.0.1:5432 --rtt-ms 40 [--listen-port 6432]
    python benchmarks/delay_proxy.py --target 127.0.0.1:5432 --delay-ms 20     # the same
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field

from child_process import PipedChild

CHUNK = 65536
LATE_MS = 2.0          # a chunk written later than this after its due time counts as late
_EOF = None


def one_way_delay_ms(delay_ms: float | None, rtt_ms: float | None) -> float:
    """The one-way delay from exactly one of ``delay_ms`` (one way) and ``rtt_ms`` (both ways)."""
    if (delay_ms is None) == (rtt_ms is None):
        raise ValueError("give exactly one of delay_ms (each way) and rtt_ms (round trip = 2 x delay_ms)")
    value = float(delay_ms) if delay_ms is not None else float(rtt_ms) / 2
    if value < 0:
        raise ValueError(f"delay must be >= 0 ms, got {value}")
    return value


@dataclass
class _ConnStats:
    """Counters of one proxied connection (guarded by the proxy's lock)."""
    id: int
    opened_at: float
    turns: int = 0
    bytes_up: int = 0          # client -> server
    bytes_down: int = 0        # server -> client
    chunks_up: int = 0
    chunks_down: int = 0
    last_from: str = ""        # "client" | "server" | "" (nothing yet)
    open: bool = True
    closed_at: float | None = None
    target_failed: bool = False

    def as_dict(self) -> dict:
        return {"id": self.id, "round_trips": self.turns, "bytes_client_to_server": self.bytes_up,
                "bytes_server_to_client": self.bytes_down, "chunks_client_to_server": self.chunks_up,
                "chunks_server_to_client": self.chunks_down, "open": self.open,
                "seconds": (self.closed_at or time.monotonic()) - self.opened_at,
                "target_failed": self.target_failed}


@dataclass
class _Totals:
    connections: int = 0
    target_failures: int = 0
    max_lag_ms: float = 0.0    # the latest a chunk was written after its due time (proxy fidelity)
    lag_ms_total: float = 0.0  # summed over every chunk written (late wake-ups under CPU load)
    chunks_late: int = 0       # chunks written more than LATE_MS after their due time
    conns: list = field(default_factory=list)


class DelayProxy:
    """Loopback TCP proxy adding ``delay_ms`` each way (``rtt_ms`` = 2 x ``delay_ms`` per round
    trip). ``delay_ms`` may be given positionally; ``rtt_ms`` is keyword-only; give one of them."""

    def __init__(self, target_host: str, target_port: int, delay_ms: float | None = None,
                 listen_port: int = 0, *, rtt_ms: float | None = None, listen_host: str = "127.0.0.1"):
        self.target_host, self.target_port = target_host, int(target_port)
        self.delay_ms = one_way_delay_ms(delay_ms, rtt_ms)
        self.listen_host, self._listen_port = listen_host, int(listen_port)
        self.port: int | None = None
        self._lock = threading.Lock()
        self._totals = _Totals()
        self._next_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def rtt_ms(self) -> float:
        return 2 * self.delay_ms

    # --- control (any thread) --------------------------------------------------------------------
    def start(self) -> DelayProxy:
        if self._thread:
            raise RuntimeError("proxy already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(asyncio.start_server(
                    self._handle, self.listen_host, self._listen_port, reuse_address=True))
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:   # noqa: BLE001 - handed to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"delay-proxy-{self._listen_port}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop listening and drop every proxied connection; idempotent."""
        if not self._thread:
            return
        if self._loop and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> DelayProxy:
        return self.start() if not self._thread else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict:
        """Counters since start (or the last ``reset``). ``round_trips`` counts client turns, set-up
        turns included; ``per_connection`` lists every connection seen since then."""
        with self._lock:
            t = self._totals
            conns = [c.as_dict() for c in t.conns]
            return {
                "delay_ms": self.delay_ms, "rtt_ms": self.rtt_ms,
                "connections": t.connections, "active_connections": sum(c.open for c in t.conns),
                "target_failures": t.target_failures,
                "round_trips": sum(c.turns for c in t.conns),
                "bytes_client_to_server": sum(c.bytes_up for c in t.conns),
                "bytes_server_to_client": sum(c.bytes_down for c in t.conns),
                "chunks_client_to_server": sum(c.chunks_up for c in t.conns),
                "chunks_server_to_client": sum(c.chunks_down for c in t.conns),
                "max_lag_ms": t.max_lag_ms, "lag_ms_total": t.lag_ms_total,
                "chunks_late": t.chunks_late,
                "per_connection": conns,
            }

    def reset(self) -> None:
        """Zero the counters. Closed connections are forgotten; open ones stay listed with zero
        counts (their turn state is kept, so a reply in flight does not invent a turn)."""
        with self._lock:
            kept = [c for c in self._totals.conns if c.open]
            for c in kept:
                c.turns = c.bytes_up = c.bytes_down = c.chunks_up = c.chunks_down = 0
            self._totals = _Totals(conns=kept)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no proxied connection is open (the last bytes of a closed client, such as
        PostgreSQL's Terminate, are counted by then); True when idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stats()["active_connections"] == 0:
                return True
            time.sleep(0.01)
        return False

    # --- the loop's side --------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        if self._server:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except (TimeoutError, Exception):   # noqa: BLE001 - shutting down anyway
                pass

    async def _handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        with self._lock:
            self._next_id += 1
            conn = _ConnStats(self._next_id, time.monotonic())
            self._totals.connections += 1
            self._totals.conns.append(conn)
        _nodelay(c_writer)
        s_writer = None
        try:
            try:
                s_reader, s_writer = await asyncio.open_connection(self.target_host, self.target_port)
            except OSError:
                with self._lock:
                    conn.target_failed = True
                    self._totals.target_failures += 1
                return
            _nodelay(s_writer)
            await asyncio.gather(self._pipe(c_reader, s_writer, conn, "client"),
                                 self._pipe(s_reader, c_writer, conn, "server"))
        except asyncio.CancelledError:
            pass
        finally:
            for w in (c_writer, s_writer):
                if w is not None:
                    w.close()
            with self._lock:
                conn.open = False
                conn.closed_at = time.monotonic()
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    conn: _ConnStats, side: str) -> None:
        """One direction: a reader stamping each chunk with its due time, a writer sending each at
        that time. An EOF is forwarded as a half-close; a reset ends both directions."""
        loop = asyncio.get_running_loop()
        delay = self.delay_ms / 1000
        queue: asyncio.Queue = asyncio.Queue()
        failed = asyncio.Event()

        async def read() -> None:
            try:
                while not failed.is_set():
                    data = await reader.read(CHUNK)
                    if not data:
                        break
                    now = loop.time()
                    self._count(conn, side, len(data))
                    queue.put_nowait((now + delay, data))
            except (ConnectionError, OSError):
                failed.set()
            finally:
                queue.put_nowait((loop.time() + delay, _EOF))

        async def write() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is not _EOF:
                    self._lagged(max(0.0, (loop.time() - due) * 1000))
                try:
                    if data is _EOF:
                        if failed.is_set():
                            writer.transport.abort()     # the source reset: reset the other side too
                        elif writer.can_write_eof() and not writer.is_closing():
                            writer.write_eof()
                        return
                    writer.write(data)
                    await writer.drain()
                except (ConnectionError, OSError):
                    failed.set()                         # the destination is gone: stop reading
                    reader.feed_eof()
                    return

        await asyncio.gather(read(), write())

    def _lagged(self, lag_ms: float) -> None:
        with self._lock:
            t = self._totals
            t.max_lag_ms = max(t.max_lag_ms, lag_ms)
            t.lag_ms_total += lag_ms
            t.chunks_late += lag_ms > LATE_MS

    def _count(self, conn: _ConnStats, side: str, n: int) -> None:
        with self._lock:
            if side == "client":
                if conn.last_from != "client":
                    conn.turns += 1
                conn.bytes_up += n
                conn.chunks_up += 1
            else:
                conn.bytes_down += n
                conn.chunks_down += 1
            conn.last_from = side


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


# --- the same proxy in a child process -------------------------------------------------------------
def _proxy_child(conn, args: tuple, kwargs: dict) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proxy = DelayProxy(*args, **kwargs).start()
    except BaseException as exc:   # noqa: BLE001 - reported to the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("port", proxy.port))
    try:
        while True:
            try:
                msg = conn.recv()
            except EOFError:
                break
            if msg == "stats":
                conn.send(proxy.stats())
            elif msg == "reset":
                proxy.reset()
                conn.send(True)
            elif isinstance(msg, tuple) and msg[0] == "wait_idle":
                conn.send(proxy.wait_idle(msg[1]))
            else:
                break
    finally:
        proxy.stop()
        try:
            conn.send(True)
        except (OSError, EOFError):
            pass


class ProxyProcess:
    """``DelayProxy`` run in a spawned child process, driven over a pipe; same interface."""

    def __init__(self, target_host: str, target_port: int, delay_ms: float | None = None,
                 listen_port: int = 0, *, rtt_ms: float | None = None, listen_host: str = "127.0.0.1"):
        self.delay_ms = one_way_delay_ms(delay_ms, rtt_ms)
        self._args = (target_host, int(target_port), self.delay_ms, int(listen_port))
        self._kwargs = {"listen_host": listen_host}
        self.port: int | None = None
        self._child: PipedChild | None = None

    @property
    def rtt_ms(self) -> float:
        return 2 * self.delay_ms

    def start(self) -> ProxyProcess:
        child = PipedChild(_proxy_child, self._args, self._kwargs, name="delay-proxy")
        kind, value = child.greeting
        if kind == "error":
            child.stop()
            raise OSError(f"delay proxy did not start: {value}")
        self._child, self.port = child, value
        return self

    def stats(self) -> dict:
        return self._child.ask("stats")

    def reset(self) -> None:
        self._child.ask("reset")

    def wait_idle(self, timeout: float = 5.0) -> bool:
        return self._child.ask(("wait_idle", timeout))

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None

    def __enter__(self) -> ProxyProcess:
        return self.start() if self._child is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- command line ----------------------------------------------------------------------------------
def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Loopback TCP proxy adding latency in each direction "
                                            "(round trip = 2 x --delay-ms).")
    p.add_argument("--target", type=_host_port, required=True, help="HOST:PORT to forward to")
    lat = p.add_mutually_exclusive_group(required=True)
    lat.add_argument("--rtt-ms", type=float, help="round-trip time to add (half of it each way)")
    lat.add_argument("--delay-ms", type=float, help="delay each way (a round trip costs twice this)")
    p.add_argument("--listen-port", type=int, default=0, help="default: a free port (printed)")
    p.add_argument("--listen-host", default="127.0.0.1")
    p.add_argument("--stats-interval", type=float, default=0, help="print the counters every N s")
    args = p.parse_args(argv)
    proxy = DelayProxy(*args.target, args.delay_ms, args.listen_port, rtt_ms=args.rtt_ms,
                       listen_host=args.listen_host).start()
    print(f"delay proxy listening on {args.listen_host}:{proxy.port} -> {args.target[0]}:{args.target[1]} "
          f"({proxy.delay_ms:g} ms each way, {proxy.rtt_ms:g} ms per round trip)", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(args.stats_interval or 3600):
        if args.stats_interval:
            s = proxy.stats()
            s.pop("per_connection")
            print(json.dumps(s), flush=True)
    proxy.stop()
    s = proxy.stats()
    s.pop("per_connection")
    print(json.dumps(s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
