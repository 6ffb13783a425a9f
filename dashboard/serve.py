"""Serving: the production WSGI server (gunicorn; waitress-free) and the first-run default."""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

import click

from core.config import load_config


def _run_gunicorn(host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 60)
            # browsers and clients reuse a connection after the user's pause: a 2 s keep-alive (gunicorn's
            # default) closes it under them and the next POST fails with "connection reset"
            self.cfg.set("keepalive", 75)
            # one shared control socket path per user would make two servers on one machine clobber each other
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("accesslog", None)
            self.cfg.set("preload_app", False)
            # our own Chinese start and stop lines say what matters; gunicorn's INFO lines are English noise
            self.cfg.set("loglevel", "warning")
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("worker_int", _worker_stop)
            self.cfg.set("post_worker_init", install_quit_handlers)
            self.cfg.set("worker_exit", _worker_exit)
            self.cfg.set("on_exit", lambda _arbiter: click.echo("医共体运营监测平台已停止"))

        def load(self):
            from dashboard.app import create_app, setup_before_serving
            from dashboard.warmup import start as start_warmup
            app = create_app()
            setup_before_serving(app)
            start_warmup(app.server)    # each worker warms its cache at start and after every load
            return app.server

    _App().run()


def _close_worker_resources() -> None:
    """Write the buffered service log of this worker (the app database; SQLite or PostgreSQL).

    The mart's DuckDB connections are deliberately not closed: closing one while a request thread is inside a
    query can wait on that query with the interpreter lock held, and the stop then hangs until gunicorn's SIGKILL.
    The process ends with ``os._exit`` right after, so there is nothing to clean up in DuckDB.
    """
    try:
        from dashboard.accounts.audit import flush_service_log
        flush_service_log()
    except Exception:  # noqa: BLE001 — stopping must not fail on a log that cannot be written
        pass


def _worker_stop(worker) -> None:  # noqa: ANN001
    """Ctrl+C / SIGINT in a worker: write the service log and leave at once.

    A normal interpreter exit runs DuckDB's C++ destructors while its background threads are still joinable,
    which aborts the process (``terminate called without an active exception``; gunicorn then reports the
    worker as killed by SIGABRT), and closing DuckDB connections under running requests can hang. So the worker
    writes its service log and leaves without that teardown. The closing gets at most :data:`CLOSE_WAIT_S` (a request thread may hold the app
    database's write lock): a stop must never wait for gunicorn's SIGKILL.
    """
    _close_then_exit()


def install_quit_handlers(worker) -> None:  # noqa: ANN001
    """Replace the worker's SIGINT/SIGQUIT handler (gunicorn's ``handle_quit``) by :func:`_quit_now`.

    Why (issue 14, Ctrl+C of ``python app.py`` sometimes hung until gunicorn's SIGKILL): the gthread worker's
    ``handle_quit`` first calls ``tpool.shutdown()``, which takes the thread pool's non-reentrant
    ``_shutdown_lock``. Python runs a signal handler in the main thread between two bytecodes, and the main
    thread is the one that hands every accepted connection to ``tpool.submit()`` — which holds that same lock.
    A Ctrl+C landing inside ``submit()`` therefore deadlocks the worker on itself; with the demo simulator's
    steady stream of exchange-API requests it did now and then. Our handler takes no lock the interrupted code
    may hold, and a timer (SIGALRM, which also interrupts a blocked lock wait) ends the process if closing does.
    """
    import signal

    def _quit_now(_sig, _frame) -> None:  # noqa: ANN001
        worker.alive = False
        signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
        signal.setitimer(signal.ITIMER_REAL, CLOSE_WAIT_S + 0.5)
        _close_then_exit()

    signal.signal(signal.SIGINT, _quit_now)
    signal.signal(signal.SIGQUIT, _quit_now)


def _worker_exit(_arbiter, _worker) -> None:  # noqa: ANN001
    """SIGTERM (graceful stop) after the last request finished: the same clean exit as :func:`_worker_stop`."""
    _close_then_exit()


CLOSE_WAIT_S = 3.0


def _close_then_exit() -> None:
    import threading
    closer = threading.Thread(target=_close_worker_resources, name="close-on-stop", daemon=True)
    closer.start()
    closer.join(CLOSE_WAIT_S)
    os._exit(0)


def share_results(cfg, workers: int) -> None:  # noqa: ANN001
    """With more than one worker and no ``CACHE_URL``, the workers share one result cache in ``DATA_DIR/cache``
    (``core.cache``: each view is computed and warmed once, not once per worker); a file cache starts empty
    (its entries may come from older code)."""
    from core.cache import clear_file_cache, file_cache_dir
    if workers > 1 and not cfg.cache_url:
        os.environ["CACHE_URL"] = f"file://{cfg.data_dir / 'cache'}"     # read by every worker's create_app
    folder = file_cache_dir(os.environ.get("CACHE_URL", ""))
    if folder is not None:
        clear_file_cache(folder)


def serve(host: str = "127.0.0.1", port: int = 8050, workers: int = 1, threads: int = 64) -> None:
    """Serve the dashboard with gunicorn (N worker processes, each opening the mart read-only)."""
    click.echo(f"医共体运营监测平台已启动 → http://{host}:{port}/ （{workers} 个工作进程，按 Ctrl+C 停止）")
    # Create the app-database tables once, before the workers fork: N workers racing through CREATE TABLE on
    # PostgreSQL collide on the catalog; the connections are closed so no worker inherits a socket.
    from core.config import secret_key
    from dashboard.appdb import dispose_app_engines, init_app_db
    cfg = load_config()
    init_app_db(cfg.app_db_url)
    dispose_app_engines()
    secret_key(cfg)         # made once here, not raced for by the workers of a new DATA_DIR
    share_results(cfg, workers)
    _run_gunicorn(host, port, workers, threads)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="worker processes")
@click.option("--threads", default=64, show_default=True, type=int,
              help="threads per worker (a login waits in one while its password check queues on the "
                   "low-priority pool of LOGIN_HASH_SLOTS)")
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the dashboard (production WSGI server)."""
    serve(host, port, max(1, workers), max(1, threads))


def run_default() -> None:
    """First run: build the demo mart if missing, then serve on 127.0.0.1:8050 (``PORT`` overrides the port)."""
    import os
    port = int(os.environ.get("PORT") or 8050)
    cfg = load_config()
    # Everything that opens the DuckDB mart runs in a child process: a worker forked from a process that had
    # DuckDB open inherits its engine without its threads and hangs on Ctrl+C until gunicorn kills it.
    if not _in_child(_mart_ready):
        click.echo(f"未找到数据集市，正在生成演示县数据 → {cfg.mart_path}")
        _in_child(_build_demo)
    simulator = _start_demo_simulator(cfg, port)
    try:
        serve(port=port)
    finally:
        if simulator is not None and simulator.poll() is None:
            simulator.terminate()


def _start_demo_simulator(cfg, port: int) -> subprocess.Popen | None:  # noqa: ANN001
    """On the demo mart, run the simulated exchange nodes beside the server (a child process), so the operator's
    exchange map is live on first run instead of every node turning offline minutes after the demo was built.

    Off when ``DEMO_SIMULATE=0`` or when the mart holds a county's real data (``mart_meta.source`` ≠ demo).
    """
    import atexit
    import os
    import subprocess

    if os.environ.get("DEMO_SIMULATE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    if _in_child(_mart_source) != "demo":
        return None
    log_path = cfg.data_dir / "demo-simulator.log"
    log = open(log_path, "ab")
    child = subprocess.Popen([sys.executable, str(_project_root() / "app.py"), "nodes", "simulate", "--url", f"http://127.0.0.1:{port}"],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             cwd=str(_project_root()))
    atexit.register(lambda: child.poll() is None and child.terminate())
    click.echo(f"演示前置机模拟器已启动 (python app.py nodes simulate, 日志 {log_path}); 设置 DEMO_SIMULATE=0 可关闭")
    return child


def _in_child(fn):  # noqa: ANN001
    """``fn()`` run in a fresh (spawned) Python process; its result. Keeps DuckDB out of the serving process."""
    import concurrent.futures
    import multiprocessing as mp
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn).result()


def _mart_ready() -> bool:
    from mart.db import mart_exists
    return mart_exists(load_config())


def _build_demo() -> None:
    from dashboard.bootstrap import build_demo_everything
    build_demo_everything(load_config())


def _mart_source() -> str:
    from queries.periods import mart_meta
    return mart_meta(load_config().mart_url, "source")


def _project_root():
    from pathlib import Path
    return Path(__file__).resolve().parents[1]


if __name__ == "__main__":  # pragma: no cover
    multiprocessing.freeze_support()
    sys.exit(serve())
