"""utils.memory: the glibc calls that keep a long run's peak memory bounded are really made."""
from __future__ import annotations

import platform

import pytest

from utils.memory import release_freed_memory, use_one_malloc_arena

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc-only calls")


@glibc
def test_one_arena_and_trim_take_effect_on_glibc():
    assert use_one_malloc_arena() is True
    assert release_freed_memory() is True
