"""Configuration from environment variables with safe defaults.

DATA_DIR   folder for the mart, app database, secret key, geometry (default ./data)
MART_URL   SQLAlchemy URL of the supervision data mart (default DuckDB file in DATA_DIR)
APP_DB_URL SQLAlchemy URL of the app database (default SQLite file in DATA_DIR)
SECRET_KEY Flask secret; if unset it is generated once and kept in DATA_DIR/secret_key (mode 600)
CACHE_URL  redis://… for a shared result cache; empty → per-process cache
MART_TIMEZONE  IANA zone of the county's local time (default Asia/Shanghai): the loader stores times with a
           UTC offset (Parquet TIMESTAMP WITH TIME ZONE, CSV text with +08:00/Z) as wall time of this zone
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Config:
    data_dir: Path
    mart_url: str
    app_db_url: str
    cache_url: str
    mart_timezone: str = "Asia/Shanghai"

    @property
    def mart_path(self) -> Path | None:
        """Filesystem path of the DuckDB mart, or None when the mart is a server database."""
        return duckdb_path(self.mart_url)

    @property
    def geo_dir(self) -> Path:
        return self.data_dir / "geo"

    @property
    def demo_accounts_path(self) -> Path:
        return self.data_dir / "demo-accounts.txt"


def duckdb_path(url: str) -> Path | None:
    """Return the file path of a ``duckdb:///path`` URL, else None."""
    prefix = "duckdb:///"
    if url.startswith(prefix):
        return Path(url[len(prefix):])
    return None


def load_config() -> Config:
    """Read the configuration from the environment (call again after changing os.environ)."""
    data_dir = Path(os.environ.get("DATA_DIR", "./data")).resolve()
    mart_url = os.environ.get("MART_URL") or f"duckdb:///{data_dir / 'mart.duckdb'}"
    app_db_url = os.environ.get("APP_DB_URL") or f"sqlite:///{data_dir / 'app.db'}"
    return Config(data_dir=data_dir, mart_url=mart_url, app_db_url=app_db_url,
                  cache_url=os.environ.get("CACHE_URL", ""),
                  mart_timezone=os.environ.get("MART_TIMEZONE", "").strip() or "Asia/Shanghai")


def secret_key(cfg: Config) -> str:
    """SECRET_KEY from the environment, else a key generated once and kept in DATA_DIR with mode 600."""
    env = os.environ.get("SECRET_KEY")
    if env:
        return env
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.data_dir / "secret_key"
    if not path.exists():
        # Written under a temporary name and linked into place: several workers starting at once on a new
        # DATA_DIR each try, exactly one link wins, and nobody ever reads a half-written key.
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass                    # another process won: use its key
        finally:
            tmp.unlink(missing_ok=True)
    os.chmod(path, 0o600)
    return path.read_text().strip()
