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
@click.option("--crs", default=None,
              help="Source CRS when the file does not declare one, e.g. EPSG:4549; GCJ-02 or BD-09 for Chinese "
                   "web-map coordinates (converted to WGS-84).")
@click.option("--encoding", default=None, help="Text encoding of a shapefile's .dbf (e.g. gbk) when it has no .cpg.")
@click.option("--match", type=click.Choice(["code", "name"]), default="code", show_default=True,
              help="Match features to townships by code, or by code then by name (needs --name).")
@click.option("--force", is_flag=True, help="Import even when institutions fall outside the boundaries.")
def import_command(file: Path, key: str, name_field: str | None, crs: str | None, encoding: str | None,
                   match: str, force: bool) -> None:
    """Replace the demo geometry with a county's real township boundaries from FILE (GeoJSON, Shapefile …)."""
    from core.config import load_config
    from geo.importer import GeoImportError, import_townships
    from queries.maps import institution_points, township_areas

    cfg = load_config()
    try:
        townships = township_areas(cfg.mart_url)
        institutions = institution_points(cfg.mart_url)[["inst_code", "name", "lon", "lat"]]
    except Exception as exc:
        raise click.ClickException(f"无法读取数据集市中的乡镇 ({cfg.mart_url}): {exc}") from exc
    try:
        report = import_townships(file, key, townships, cfg.geo_dir, name_field=name_field, crs=crs,
                                  encoding=encoding, match=match, institutions=institutions, force=force)
    except GeoImportError as exc:
        raise click.ClickException(f"导入失败，未做任何修改：{exc}") from exc
    click.echo(f"已导入 {report.townships} 个乡镇边界 (源坐标系 {report.source_crs} → WGS84)")
    for note in report.repair_notes:
        click.echo(f"已修复无效几何: {note}")
    for warning in report.warnings:
        click.echo(f"警告 (--force): {warning}")
    if match == "name":
        click.echo("乡镇代码 | 乡镇名称 | 文件代码 | 文件名称 | 匹配方式")
        for mart_code, mart_name, file_code, file_name, how in report.match_table:
            shown = {"code": "代码", "name": "名称", "": "未匹配"}[how]
            click.echo(f"{mart_code or '—'} | {mart_name or '—'} | {file_code or '—'} | {file_name or '—'} | {shown}")
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
