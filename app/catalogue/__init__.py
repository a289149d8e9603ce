"""Catalogue sync from Promidata: feed client and parsers, schema, sync logic, storage, status.

Everything here runs without Celery; tasks/catalogue.py is a thin wrapper that validates
arguments, calls these functions and reports progress.
"""
