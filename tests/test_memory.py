"""utils.pipeline.memory: the glibc calls that keep a long run's peak memory bounded are really made, and
they do what they are for — seen from glibc's own reports and the kernel's page counts, each in a
fresh interpreter (arenas and heaps are per process, and once created never go away)."""
from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from utils.pipeline.memory import release_freed_memory, use_one_malloc_arena

REPO = Path(__file__).resolve().parents[1]
glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc-only calls")

# Counts the malloc arenas (<heap nr=...> in glibc's malloc_info report) once four threads have
# each allocated; with ``one`` first calling use_one_malloc_arena().
ARENAS = r"""
import ctypes, ctypes.util, os, sys, tempfile, threading
sys.path.insert(0, sys.argv[1])
from utils.pipeline.memory import use_one_malloc_arena
if sys.argv[2] == "one":
    assert use_one_malloc_arena()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
kept, started, finish = [], threading.Barrier(5), threading.Event()

def work():
    kept.append(libc.malloc(64 * 1024))      # each thread's first malloc picks (or makes) its arena
    started.wait()
    finish.wait()

threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads:
    t.start()
started.wait()                               # all four allocated while all four are alive
path = os.path.join(tempfile.mkdtemp(), "info.xml")
fp = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, fp)
libc.fclose(fp)
finish.set()
for t in threads:
    t.join()
print(open(path).read().count("<heap nr="))
"""

# Resident memory (kB) before and after release_freed_memory(), once 96 MiB of small blocks were
# allocated, touched and freed below a block still in use (so free() alone cannot hand them back).
TRIM = r"""
import ctypes, ctypes.util, sys
sys.path.insert(0, sys.argv[1])
from utils.pipeline.memory import release_freed_memory, use_one_malloc_arena
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]

def rss_kb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 // 1024

blocks = []
for _ in range(96 * 1024):
    block = libc.malloc(1024)
    libc.memset(block, 1, 1024)
    blocks.append(block)
top = libc.malloc(1024)                     # in use, above every freed block
for block in blocks:
    libc.free(block)
before = rss_kb()
assert release_freed_memory()
print(before, rss_kb())
"""


def _run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", script, str(REPO), *args], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@glibc
def test_one_malloc_arena_puts_every_thread_on_the_main_arena():
    assert use_one_malloc_arena() is True
    assert int(_run(ARENAS, "default")) > 1, "without the call threads get arenas of their own"
    assert int(_run(ARENAS, "one")) == 1


@glibc
def test_release_freed_memory_returns_freed_pages_to_the_os():
    assert release_freed_memory() is True
    before, after = map(int, _run(TRIM).split())
    assert before - after > 64 * 1024, (before, after)      # most of the 96 MiB freed goes back
