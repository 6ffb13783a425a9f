"""The geo command group: ``python app.py geo import FILE --key FIELD`` and ``python app.py geo info``."""
from __future__ import annotations

from pathlib import Path

import click


@click.group("geo")
def geo_group() -> None:
    """County geometry (township boundaries for the maps)."""


@geo_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", required=True, help="Field holding the township code (matches area.area_code).")
@click.option("--name", "name_field", default=None, help="Field holding the township name (default: the mart's).")
@click.option("--crs", default=None, help="Source CRS when the file does not declare one, e.g. EPSG:4549.")
def import_command(file: Path, key: str, name_field: str | None, crs: str | None) -> None:
    """Replace the demo geometry with a county's real township boundaries from FILE (GeoJSON, Shapefile …)."""
    from core.config import load_config
    from geo.importer import GeoImportError, import_townships
    from queries.maps import township_areas

    cfg = load_config()
    try:
        townships = township_areas(cfg.mart_url)
    except Exception as exc:  # noqa: BLE001 — no mart yet, or not readable: say so plainly
        raise click.ClickException(f"无法读取数据集市中的乡镇 ({cfg.mart_url}): {exc}") from exc
    try:
        report = import_townships(file, key, townships, cfg.geo_dir, name_field=name_field, crs=crs)
    except GeoImportError as exc:
        raise click.ClickException(f"导入失败，未做任何修改：{exc}") from exc
    click.echo(f"已导入 {report.townships} 个乡镇边界 (源坐标系 {report.source_crs} → WGS84)")
    if report.repaired:
        click.echo(f"已修复无效几何: {', '.join(report.repaired)}")
    if report.merged_codes:
        click.echo(f"多个要素已合并为一个乡镇: {', '.join(report.merged_codes)}")
    if report.extra_codes:
        shown = ", ".join(report.extra_codes[:20]) + (" …" if len(report.extra_codes) > 20 else "")
        click.echo(f"文件中 {len(report.extra_codes)} 个要素不是本县乡镇，已忽略: {shown}")
    for path in report.written:
        click.echo(f"写入 {path}")


@geo_group.command("info")
def info_command() -> None:
    """Print the current geometry: townships, display size and simplification tolerance."""
    from core.config import load_config
    from geo.store import GeometryMissing, display_geometry

    cfg = load_config()
    try:
        disp = display_geometry(cfg.geo_dir)
    except GeometryMissing as exc:
        raise click.ClickException(f"尚无地理数据：{exc}") from exc
    minx, miny, maxx, maxy = disp.bbox
    click.echo(f"乡镇 {len(disp.code_to_name)} 个; 范围 {minx:.4f},{miny:.4f} – {maxx:.4f},{maxy:.4f}")
    click.echo(f"显示用 GeoJSON {disp.nbytes / 1024:.0f} KB (简化容差 {disp.tolerance:.6f}°)")
