"""报表中心: generated monthly reports (files under DATA_DIR/reports/, rows in the app DB), their CLI, web routes,
background generation, monthly automatic generation and custom-report templates. Content comes from ``reports``."""
