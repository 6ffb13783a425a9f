"""Reports: the monthly operations report (医共体运行监测月报) and custom reports.

Content is taken from the engine's ``compute()`` rows only (:mod:`reports.content`); charts are rendered
server-side with matplotlib (:mod:`reports.charts`); writers turn one :class:`reports.content.Report` into Word
(:mod:`reports.docx_writer`), HTML (:mod:`reports.html_writer`) and PDF (:mod:`reports.pdf_writer`, WeasyPrint
from the HTML). Custom reports (自定义报表) are in :mod:`reports.custom`.
"""
