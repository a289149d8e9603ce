"""Celery tasks, thin: validate arguments, call domain code in app/, report progress."""
