"""The durable job history Flower lacks: one row per Celery task, fed by signals."""
