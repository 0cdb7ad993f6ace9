"""Dashboard and report presentation: Jinja2 templates, local static assets, Plotly figures."""

from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
