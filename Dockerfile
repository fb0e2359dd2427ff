# One image for every process of the monitor; compose.yaml picks the subcommand.
# Build: docker build -t energy-monitor .    Run: docker run -p 8000:8000 energy-monitor

# The build stage keeps pip's build backends and caches out of the final image.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
WORKDIR /src
COPY . .
RUN /opt/venv/bin/pip install .


FROM python:3.11-slim

# Inside a container the services must listen beyond loopback to be reachable at all.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENERGY_API_HOST=0.0.0.0 \
    ENERGY_APP_HOST=0.0.0.0

# A fixed uid/gid so that volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 energy \
    && useradd --system --uid 10001 --gid energy --create-home --home-dir /home/energy energy

COPY --from=build /opt/venv /opt/venv

# Everything runs from the installed package (the app's pages and Streamlit settings included);
# the working directory only holds data/, the SQLite default, the one writable place.
WORKDIR /app
RUN mkdir -p /app/data && chown energy:energy /app/data

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

EXPOSE 8000 8501
CMD ["energy-monitor", "api"]
