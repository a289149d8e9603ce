# One image for every Switchyard process (beat, flower, each pool); compose.yaml picks the command.
FROM python:3.11-slim
WORKDIR /srv/switchyard
COPY pyproject.toml requirements.lock README.md ./
COPY app ./app
COPY tasks ./tasks
COPY workers ./workers
COPY simulators ./simulators
COPY alembic ./alembic
COPY alembic.ini ./
# The production packages only, at the versions CI tested (the lock pins every extra too).
RUN pip install --no-cache-dir --constraint requirements.lock -e .
USER nobody
