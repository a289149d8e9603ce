"""The dashboard: Flower's own app plus Switchyard pages and actions (queues, jobs, retry, pause, ...).

Run by `switchyard flower` (app.dashboard.launcher). Queries and actions are
plain functions (no HTTP) so the CLI, tests and the bench can use them too.
"""
