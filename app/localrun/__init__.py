"""The one-command local run: services, migrations, every process of the Procfile, demo workloads."""
