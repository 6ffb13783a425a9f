"""Form pieces shared by the pages: labelled fields, the outcome line of a form (ok / error / hint) and the
export buttons of the analysis pages."""
from __future__ import annotations

from typing import Any

from dash import dcc, html


def export_buttons(message_id: Any, csv_id: Any, xlsx_id: Any, download_id: Any) -> html.Div:
    """导出 CSV / 导出 Excel buttons with their download and the status line saying why an export was refused
    (another institution's detail, no data): the buttons never fail silently."""
    return html.Div([
        html.Span(id=message_id, className="export-msg", role="status"),
        html.Button("导出 CSV", id=csv_id, className="btn btn-secondary", n_clicks=0),
        html.Button("导出 Excel", id=xlsx_id, className="btn btn-secondary", n_clicks=0),
        dcc.Download(id=download_id),
    ], className="btn-group")


def form_field(label: Any, control: Any, field_id: str | None = None, hidden: bool = False) -> html.Label:
    """A labelled form control; with ``field_id`` the label (``<id>-label``) and the field (``<id>-field``) get ids
    so that a callback can rename or hide them."""
    if field_id is None:
        return html.Label([html.Span(label, className="form-label"), control], className="form-field")
    return html.Label([html.Span(label, className="form-label", id=f"{field_id}-label"), control],
                      className="form-field", id=f"{field_id}-field", hidden=hidden)


def form_ok(text: Any) -> html.Div:
    """A form's success message (green)."""
    return html.Div(text, className="form-ok")


def form_error(text: Any) -> html.Div:
    """A form's refusal or error message (red)."""
    return html.Div(text, className="form-error")


def form_hint(text: Any) -> html.Div:
    """A form's neutral note (grey), e.g. nothing changed."""
    return html.Div(text, className="form-hint")
