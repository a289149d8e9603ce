"""The platform layer: what every pipeline shares (Celery app, job history, policies)."""
