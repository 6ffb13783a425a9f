"""The shared file cache (``core.file_cache.PrunedFileSystemCache``) when writing fails or reading is refused, and
under several processes writing and pruning one folder at once: a failure is a miss, never a torn entry, a file left
behind for good, or a wait; a read never answers another key's value."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TMP_SUFFIX = ".__wz_cache"

# One process writing into a cache while it may write files of at most 50 kB (what a full disk does to a write).
_LIMITED = """
import os, resource, signal, sys
sys.path.insert(0, {root!r})
from core.file_cache import PrunedFileSystemCache
cache = PrunedFileSystemCache(sys.argv[1], threshold=50, default_timeout=3600)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))
stored = [cache.set(f"big{{n}}", b"x" * 100_000) for n in range(20)]
print(sum(stored), cache.set("small", {{"n": 1}}), cache.get("small"))
"""

# One process reading and writing a cache whose folder it may no longer open (made unreadable while it runs; root
# opens anything, so as root the process drops to nobody instead, which may not enter the test's folder).
_REFUSED = """
import os, sys, time
sys.path.insert(0, {root!r})
from core.file_cache import PrunedFileSystemCache
cache = PrunedFileSystemCache(sys.argv[1], threshold=50, default_timeout=3600)
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
else:
    os.chmod(sys.argv[1], 0)
t0 = time.monotonic()
got = cache.get("k")
t1 = time.monotonic()
stored = cache.set("k2", 2)
print(got, stored, round(t1 - t0, 2), round(time.monotonic() - t1, 2))
"""

# One of several processes writing and reading one small cache (threshold 30) at once; the values name their key.
_WRITER = """
import os, random, sys
sys.path.insert(0, {root!r})
from core.file_cache import PrunedFileSystemCache
folder, tag = sys.argv[1], sys.argv[2]
cache = PrunedFileSystemCache(folder, threshold=30, default_timeout=3600)
rnd = random.Random(tag)
wrong = most = 0
for n in range(600):
    key = f"k{{rnd.randrange(200)}}"
    got = cache.get(key)
    if got is not None and (got["key"] != key or len(got["blob"]) != 5000):
        wrong += 1
    cache.set(key, {{"key": key, "blob": b"y" * 5000}})
    if n % 20 == 0:
        most = max(most, len(os.listdir(folder)))
print(wrong, most, type(cache).prunes)
"""


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    (tmp_path / "cache-locks").mkdir(parents=True)
    folder.mkdir()
    return folder


def _run(tmp_path: Path, source: str, *args: str, timeout: float = 60) -> str:
    script = tmp_path / f"child{time.monotonic_ns()}.py"
    script.write_text(source.format(root=str(ROOT)))
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def _temporary(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(TMP_SUFFIX)]


def test_writes_that_fail_leave_no_file_behind(tmp_path):
    """A full disk: cachelib left each unfinished temporary file in the folder (no prune counts or removes them),
    so a full disk stayed full; here nothing of a failed write is left and the next small write is stored."""
    folder = _folder(tmp_path)
    assert _run(tmp_path, _LIMITED, str(folder)) == "0 True {'n': 1}"
    assert _temporary(folder) == []
    assert sum(p.stat().st_size for p in folder.iterdir()) < 1000


def _renamed() -> None:
    pass


_renamed.__qualname__ = "not_in_this_module"      # pickle finds no such name: PicklingError


def test_a_value_that_cannot_be_pickled_is_not_stored_at_all(tmp_path):
    """cachelib pickled into the entry file and, when pickling failed half way, stored the torn entry (saying it
    stored it); an object pickle refuses with another error left its temporary file."""
    from core.file_cache import PrunedFileSystemCache
    folder = _folder(tmp_path)
    cache = PrunedFileSystemCache(str(folder), threshold=50, default_timeout=3600)

    def local() -> None:
        pass

    before = sorted(p.name for p in folder.iterdir())
    assert cache.set("by-name", [b"x" * 200_000, _renamed]) is False      # PicklingError after 200 kB
    assert cache.set("local", [b"x" * 200_000, local]) is False
    assert sorted(p.name for p in folder.iterdir()) == before           # no entry, torn or whole; no temporary file
    assert cache.get("by-name") is None and cache.get("local") is None
    assert cache.set("fine", [b"x" * 200_000]) is True and cache.get("fine") == [b"x" * 200_000]


def test_a_folder_that_cannot_be_opened_is_a_miss_at_once(tmp_path):
    """cachelib retried a refused open for about 16 s on every read and every write (its back-off for SMB/NTFS)."""
    from core.file_cache import PrunedFileSystemCache
    folder = _folder(tmp_path)
    PrunedFileSystemCache(str(folder), threshold=50, default_timeout=3600).set("k", 1)
    try:
        got, stored, read_s, write_s = _run(tmp_path, _REFUSED, str(folder)).split()
    finally:
        folder.chmod(0o700)
    assert (got, stored) == ("None", "False")
    assert float(read_s) < 1 and float(write_s) < 1


def test_a_pass_removes_temporary_files_left_by_a_writer_that_died(tmp_path):
    from core.file_cache import PrunedFileSystemCache
    folder = _folder(tmp_path)
    cache = PrunedFileSystemCache(str(folder), threshold=5, default_timeout=3600)
    old, fresh = folder / f"tmpold{TMP_SUFFIX}", folder / f"tmpnew{TMP_SUFFIX}"
    for path in (old, fresh):
        path.write_bytes(b"\0\0\0\0half a pickle")
    long_ago = time.time() - 3600
    os.utime(old, (long_ago, long_ago))
    for n in range(8):
        cache.set(f"k{n}", n)
    assert not old.exists() and fresh.exists()          # a writer may still be finishing the fresh one


def test_processes_writing_one_small_cache_at_once_read_only_their_own_values(tmp_path):
    """Three processes, 600 reads and writes each, into a cache of 30 entries that they prune as they go: no
    error, no value of another key, no temporary file left, and the folder stays near its threshold (the entry
    count is read and rewritten by every write without a lock, so updates get lost and the folder passes 30 until
    the next pass or recount; measured up to 2.5× with four processes)."""
    folder = _folder(tmp_path)
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.format(root=str(ROOT)))
    procs = [subprocess.Popen([sys.executable, str(script), str(folder), tag], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for tag in "abc"]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert all("Traceback" not in err for _out, err in outs), outs
    for out, _err in outs:
        wrong, most, prunes = map(int, out.split())
        assert wrong == 0 and prunes > 0
        assert most <= 5 * 30, most         # lost count updates let it pass 30 for a while, never grow on
    assert _temporary(folder) == []
    assert len(list(folder.iterdir())) <= 5 * 30


def _cache_app(folder: Path):
    from flask import Flask

    from core import cache as core_cache
    server = Flask(f"t{time.monotonic_ns()}")
    core_cache.init_app(server, f"file://{folder}")
    return server


def _kept_per_process(server, caplog, reason: str) -> bool:
    """The app fell back to a cache of its own (no shared folder, no cross-process locks) and logged ``reason``."""
    from flask_caching.backends.simplecache import SimpleCache
    return (isinstance(server.extensions["result_cache"].cache, SimpleCache)
            and "result_cache_locks" not in server.extensions
            and any(reason in r.getMessage() for r in caplog.records))


def test_a_cache_folder_of_another_account_is_not_used(tmp_path, caplog):
    """Its entries are pickles: whoever can put a file there runs code in the server when it is read. As root
    the folder was chmod-ed to 0700 and used, the other account still its owner (as another account the chmod
    failed and the workers did not start)."""
    if os.geteuid() == 0:
        theirs = tmp_path / "theirs"
        theirs.mkdir()
        theirs.chmod(0o755)                 # whatever the umask: a chmod to 0700 must show
        os.chown(theirs, 65534, 65534)
    else:
        theirs = Path("/etc")               # root's, and there to name
    server = _cache_app(theirs)
    assert _kept_per_process(server, caplog, "属于另一个账户")
    with server.app_context():
        from core import cache as core_cache
        assert core_cache.get_or_compute("probe", ("k",), lambda: 7) == 7 and core_cache.get("probe", ("k",)) == 7
    if os.geteuid() == 0:
        assert list(theirs.iterdir()) == [] and theirs.stat().st_mode & 0o777 != 0o700


def test_a_cache_folder_under_a_folder_anyone_may_write_is_not_used(tmp_path, caplog):
    """Anyone may move the folder away there and put their own in its place; under /tmp's sticky bit not."""
    open_to_all, sticky = tmp_path / "open", tmp_path / "sticky"
    open_to_all.mkdir()
    sticky.mkdir()
    open_to_all.chmod(0o777)
    sticky.chmod(0o1777)
    assert _kept_per_process(_cache_app(open_to_all / "cache"), caplog, "所有账户都可写入")
    from core.file_cache import PrunedFileSystemCache
    assert isinstance(_cache_app(sticky / "cache").extensions["result_cache"].cache, PrunedFileSystemCache)


def test_a_cache_folder_that_cannot_be_made_is_a_cache_per_process(tmp_path, caplog):
    """A start must not fail for the cache: before, the worker died on the error and gunicorn gave up."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert _kept_per_process(_cache_app(blocker / "cache"), caplog, "结果缓存目录不可用")


def test_a_linked_cache_folder_is_used_where_the_link_pointed_at_start(tmp_path):
    from core import cache as core_cache
    real, elsewhere, link = tmp_path / "real", tmp_path / "elsewhere", tmp_path / "link"
    real.mkdir()
    elsewhere.mkdir()
    link.symlink_to(real)
    server = _cache_app(link)
    link.unlink()
    link.symlink_to(elsewhere)              # swapped after the start
    with server.app_context():
        core_cache.set("probe", ("k",), {"v": 1})
        assert core_cache.get("probe", ("k",)) == {"v": 1}
    assert len(list(real.iterdir())) >= 1 and list(elsewhere.iterdir()) == []
