# bidirag for KubeRay: the head, the GPU workers and the model download Job run this image (infra/README.md).
#   docker build -t REGISTRY/bidirag:$(git rev-parse --short HEAD) . && docker push REGISTRY/bidirag:...
# The working copy is /app, installed editable like `make setup` does, so the package finds what sits beside it:
# configs/ (the RayJob passes /app/configs/*.yaml) and models/nli (the shipped NLI model, bidirag.paths).
# Production models (configs/production-gpu.yaml) are not baked in: they are read from the models volume.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RAY_USAGE_STATS_ENABLED=0 TOKENIZERS_PARALLELISM=false HF_HOME=/models/hf

# wget: the readiness/liveness probes of KubeRay releases before Ray 2.53 support call it
RUN apt-get update && apt-get install -y --no-install-recommends wget && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements-gpu.txt ./
RUN pip install -r requirements-gpu.txt

COPY pyproject.toml README.md ./
COPY bidirag/ bidirag/
COPY pipelines/ pipelines/
COPY configs/ configs/
COPY models/nli/ models/nli/
# the image fails to build, not the night, if the layout is wrong
RUN pip install --no-deps -e . \
 && bidirag --help > /dev/null \
 && python -c "from bidirag.paths import shipped_nli_dir as d; assert (d() / 'model.safetensors').is_file(), d()" \
 && python -c "from bidirag.config import load_config as c; c('/app/configs/default.yaml', '/app/configs/production-gpu.yaml')"

CMD ["bidirag", "--help"]
