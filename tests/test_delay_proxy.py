"""``benchmarks/delay_proxy.py``: the latency proxy the remote-database benchmark relies on.

Real traffic only: psycopg against the local PostgreSQL (trust auth, ``postgres``/``postgres``),
httpx against an ``http.server`` on loopback, raw sockets for half-close and byte order. Timing
checks are lower bounds only (a loaded machine can make anything slower, never faster).
"""
from __future__ import annotations

import os
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import pg_databases  # noqa: E402
from delay_proxy import DelayProxy, ProxyProcess, one_way_delay_ms  # noqa: E402

PG = urlsplit(pg_databases.SERVER)
PG_HOST, PG_PORT, PG_USER = PG.hostname or "127.0.0.1", PG.port or 5432, PG.username or "postgres"


@pytest.fixture(scope="module")
def pg_server():
    """(host, port) of the local PostgreSQL, or a skip (a failure with REQUIRE_POSTGRES=1)."""
    import psycopg

    try:
        psycopg.connect(pg_databases.server_url(), connect_timeout=3).close()
    except psycopg.Error as exc:
        reason = f"PostgreSQL not reachable at {pg_databases.SERVER}: {str(exc).strip().splitlines()[0]}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return PG_HOST, PG_PORT


def pg_url(proxy, sslmode: str = "disable") -> str:
    return f"postgresql://{PG_USER}@127.0.0.1:{proxy.port}/postgres?sslmode={sslmode}"


def connect(proxy, sslmode: str = "disable"):
    """autocommit (no separate BEGIN round trip) and no server-side prepares (psycopg otherwise
    prepares a query on its 5th execution, a Parse round trip of its own) -- as PostgresStore."""
    import psycopg

    return psycopg.connect(pg_url(proxy, sslmode), autocommit=True, prepare_threshold=None,
                           connect_timeout=10)


def turns(proxy) -> int:
    return proxy.stats()["round_trips"]


# --- parameters --------------------------------------------------------------------------------
def test_rtt_is_twice_the_one_way_delay():
    assert one_way_delay_ms(None, 40) == 20
    assert one_way_delay_ms(20, None) == 20
    assert DelayProxy("127.0.0.1", 1, rtt_ms=40).delay_ms == 20
    assert DelayProxy("127.0.0.1", 1, 20).rtt_ms == 40
    with pytest.raises(ValueError):
        DelayProxy("127.0.0.1", 1, 20, rtt_ms=40)
    with pytest.raises(ValueError):
        DelayProxy("127.0.0.1", 1)
    with pytest.raises(ValueError):
        DelayProxy("127.0.0.1", 1, rtt_ms=-1)


# --- PostgreSQL wire protocol ----------------------------------------------------------------------
@pytest.mark.parametrize("sslmode", ["disable", "prefer"])
def test_postgres_round_trips_are_counted_exactly(pg_server, sslmode):
    with DelayProxy(*pg_server, rtt_ms=0) as proxy:
        setups = []
        for _ in range(2):
            proxy.reset()
            conn = connect(proxy, sslmode)
            setups.append(turns(proxy))
            before = turns(proxy)
            n = 7
            for _ in range(n):
                assert conn.execute("SELECT 1").fetchone() == (1,)
            assert turns(proxy) - before == n
            conn.close()
            assert proxy.wait_idle()
            # libpq's Terminate message on close is one more client turn
            assert turns(proxy) - before == n + 1
            stats = proxy.stats()
            assert stats["connections"] == 1 and stats["active_connections"] == 0
            assert stats["bytes_client_to_server"] > 0 and stats["bytes_server_to_client"] > 0
        # set-up turns: a fixed small number for a given sslmode
        assert setups[0] == setups[1]
        if sslmode == "disable":
            assert setups[0] == 1          # the startup message; trust auth answers in one go
        else:
            assert 2 <= setups[0] <= 4      # SSLRequest first (2 when the server says 'N')


def test_postgres_transaction_costs_a_begin_round_trip(pg_server):
    """psycopg outside autocommit sends BEGIN as a round trip of its own: counted, not hidden."""
    import psycopg

    with DelayProxy(*pg_server, rtt_ms=0) as proxy:
        with psycopg.connect(pg_url(proxy), prepare_threshold=None) as conn:
            before = turns(proxy)
            conn.execute("SELECT 1")
            conn.execute("SELECT 2")
            conn.commit()
            assert turns(proxy) - before == 4      # BEGIN, SELECT 1, SELECT 2, COMMIT


def test_postgres_latency_lower_bound(pg_server):
    with DelayProxy(*pg_server, rtt_ms=40) as proxy:
        conn = connect(proxy)
        before = turns(proxy)
        started = time.perf_counter()
        for _ in range(10):
            conn.execute("SELECT 1").fetchone()
        elapsed = time.perf_counter() - started
        conn.close()
        assert turns(proxy) - before == 10
        assert elapsed >= 10 * 0.040


def test_postgres_copy_through_proxy(pg_server):
    """A COPY streams many chunks one way; the data arrives whole and in order."""
    with DelayProxy(*pg_server, rtt_ms=10) as proxy:
        conn = connect(proxy)
        conn.execute("CREATE TEMP TABLE t (i int, s text)")
        before = turns(proxy)
        with conn.cursor() as cur:
            with cur.copy("COPY t (i, s) FROM STDIN") as copy:
                for i in range(20000):
                    copy.write_row((i, "x" * 50))
        copy_turns = turns(proxy) - before
        rows = conn.execute("SELECT count(*), sum(i), min(s) = max(s) FROM t").fetchone()
        conn.close()
        assert rows == (20000, sum(range(20000)), True)
        assert copy_turns == 2          # COPY -> CopyInResponse; data + CopyDone -> CommandComplete
        assert proxy.stats()["chunks_client_to_server"] > 5


# --- HTTP/1.1 keep-alive ---------------------------------------------------------------------------
BIG = bytes(range(256)) * 4096      # 1 MiB, many chunks through the proxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = BIG if self.path == "/big" else b"hello " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[::-1])


@pytest.fixture(scope="module")
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[:2]
    server.shutdown()
    server.server_close()


def test_http_keep_alive(http_server):
    import httpx

    with DelayProxy(*http_server, rtt_ms=40) as proxy:
        with httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}", timeout=10) as client:
            started = time.perf_counter()
            for i in range(5):
                r = client.get(f"/n{i}")
                assert r.status_code == 200 and r.content == f"hello /n{i}".encode()
            elapsed = time.perf_counter() - started
            assert client.get("/big").content == BIG
            payload = os.urandom(300_000)
            assert client.post("/echo", content=payload).content == payload[::-1]
        assert proxy.wait_idle()
        stats = proxy.stats()
    assert stats["connections"] == 1                 # keep-alive: one connection for all requests
    assert stats["round_trips"] == 7                 # one turn per request, no set-up turns
    assert stats["bytes_server_to_client"] > len(BIG)
    assert stats["bytes_client_to_server"] > len(payload)
    assert elapsed >= 5 * 0.040


def test_reset_zeroes_counters(http_server):
    import httpx

    with DelayProxy(*http_server, rtt_ms=0) as proxy:
        with httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}") as client:
            client.get("/a")
            proxy.reset()
            assert proxy.stats()["round_trips"] == 0 and proxy.stats()["connections"] == 0
            client.get("/b")
            client.get("/c")
            stats = proxy.stats()
    assert stats["round_trips"] == 2
    assert [c["round_trips"] for c in stats["per_connection"]] == [2]   # the open connection is kept


# --- raw TCP: half-close, order, independence -------------------------------------------------------
class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _tcp_server(handle):
    class H(socketserver.BaseRequestHandler):
        def handle(self):
            handle(self.request)

    server = _TCPServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _recv_all(sock) -> bytes:
    parts = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(parts)
        parts.append(data)


def test_half_close_is_passed_through():
    """The client sends, shuts down its sending side, and still gets the whole reply: the server
    answers only once it has seen EOF (like ``nc -N``), then closes."""
    def upper_after_eof(sock):
        data = _recv_all(sock)
        sock.sendall(b"got:" + data.upper())
        sock.close()

    server = _tcp_server(upper_after_eof)
    try:
        with DelayProxy(*server.server_address, rtt_ms=20) as proxy:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
                s.sendall(b"abc")
                s.sendall(b"def")
                s.shutdown(socket.SHUT_WR)
                assert _recv_all(s) == b"got:ABCDEF"
            assert proxy.wait_idle()
            assert proxy.stats()["round_trips"] == 1
    finally:
        server.shutdown()
        server.server_close()


def test_many_small_writes_keep_their_order():
    def echo(sock):
        while True:
            data = sock.recv(65536)
            if not data:
                break
            sock.sendall(data)
        sock.close()

    server = _tcp_server(echo)
    try:
        with DelayProxy(*server.server_address, rtt_ms=10) as proxy:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sent = b"".join(f"{i:05d};".encode() for i in range(3000))
                for i in range(0, len(sent), 6):
                    s.sendall(sent[i:i + 6])
                s.shutdown(socket.SHUT_WR)
                assert _recv_all(s) == sent
    finally:
        server.shutdown()
        server.server_close()


def test_connections_are_not_serialised():
    """Two connections whose server answers only once BOTH requests have arrived: a proxy that
    handled one connection at a time would never deliver the second request (barrier timeout)."""
    barrier = threading.Barrier(2, timeout=10)

    def meet(sock):
        data = sock.recv(100)
        barrier.wait()
        sock.sendall(b"ok " + data)
        sock.close()

    server = _tcp_server(meet)
    answers = {}

    def client(name, port):
        with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
            s.sendall(name.encode())
            answers[name] = _recv_all(s)

    try:
        with DelayProxy(*server.server_address, rtt_ms=20) as proxy:
            threads = [threading.Thread(target=client, args=(n, proxy.port)) for n in ("a", "b")]
            for t in threads:
                t.start()
            for t in threads:
                t.join(20)
            assert proxy.wait_idle()
            assert proxy.stats()["connections"] == 2
    finally:
        server.shutdown()
        server.server_close()
    assert answers == {"a": b"ok a", "b": b"ok b"}


def test_unreachable_target_is_counted_not_fatal():
    with socket.socket() as probe:          # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    with DelayProxy("127.0.0.1", dead_port, rtt_ms=0) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
            assert _recv_all(s) == b""
        assert proxy.wait_idle()
        assert proxy.stats()["target_failures"] == 1


def test_proxy_process_has_the_same_interface(http_server):
    import httpx

    proxy = ProxyProcess(*http_server, rtt_ms=20).start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}") as client:
            for _ in range(3):
                assert client.get("/x").status_code == 200
        assert proxy.wait_idle()
        stats = proxy.stats()
        assert stats["round_trips"] == 3 and stats["connections"] == 1 and stats["rtt_ms"] == 20
        proxy.reset()
        assert proxy.stats()["round_trips"] == 0
    finally:
        proxy.stop()
