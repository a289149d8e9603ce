"""Analysis jobs: fetch a tool's page, extract facts, derive a structured analysis.

The domain modules here (url_safety, fetcher, extractor, technologies, analyzer,
pipeline, store) run without Celery; tasks/analysis.py is the thin task and
app/analysis/api.py the HTTP API.
"""
