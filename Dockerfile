# One image for every Switchyard process (beat, flower, each pool); compose.yaml picks the command.
FROM python:3.11-slim
WORKDIR /srv/switchyard
COPY pyproject.toml README.md ./
COPY app ./app
COPY tasks ./tasks
COPY workers ./workers
COPY simulators ./simulators
COPY alembic ./alembic
COPY alembic.ini ./
RUN pip install --no-cache-dir -e .
USER nobody
