# Dreamstage for a GPU pod (e.g. a RunPod template). Build: docker build -t dreamstage .
# Run: docker run --gpus all -p 8000:8000 -e DREAMSTAGE_API_KEY=... -v /workspace:/workspace dreamstage
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg git iproute2 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY main.py config.py ./
COPY api api
COPY services services
COPY rtc rtc
COPY media media
COPY pipeline pipeline
COPY ui ui
COPY audio audio
COPY static static
# torch==2.13.0 from PyPI is the CUDA build on Linux x86_64; a real (non-editable) install, as `scripts/check-wheel` tests
RUN pip install --no-cache-dir . && rm -rf /app/*

ENV DREAMSTAGE_MODELS_DIR=/workspace/models \
    DREAMSTAGE_ASSETS_DIR=/workspace/assets \
    HF_HOME=/workspace/hf-cache
EXPOSE 8000
CMD ["dreamstage", "--host", "0.0.0.0", "--port", "8000", "--no-browser"]
