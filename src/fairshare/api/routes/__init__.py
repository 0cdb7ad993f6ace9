"""API routes: `data` (JSON under /api) and `pages` (the dashboard)."""
