# Two commands for a newcomer: `make demo` and `make test`. Everything else is here for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE := media/vtest.avi
SHARED ?= ../shared

.PHONY: venv model yolo sample demo test test-nojit bench standin mosquitto webtools clean

venv: $(STAMP)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,cluster,quantize]'
	@$(BIN)/python -c "import cv2" 2>/dev/null || { \
	  echo "OpenCV needs system libraries: installing libgl1 and libglib2.0-0 with apt-get"; \
	  apt-get update -qq && apt-get install -y -qq libgl1 libglib2.0-0 >/dev/null; }
	$(BIN)/python -c "import cv2, numba, openvino, zmq, ray"
	touch $(STAMP)

model: venv
	@$(BIN)/python scripts/fetch_model.py
	@$(BIN)/python scripts/fetch_model.py tfpose-mobilenet-thin

# `make demo MODEL=tfpose` or `MODEL=yolo` runs the demo with another real model (yolo converts
# YOLO11n-pose first: a throwaway torch environment, see the README).
MODEL ?= movenet
DEMO_ARGS_movenet = -at movenet
DEMO_ARGS_tfpose = -at openpose -m $$($(BIN)/python scripts/fetch_model.py tfpose-mobilenet-thin)
DEMO_ARGS_yolo = -at yolo-pose -m $$($(BIN)/python scripts/fetch_model.py yolo11n-pose)

sample: $(SAMPLE)
$(SAMPLE): | $(STAMP)
	$(BIN)/python scripts/fetch_sample.py --out $(SAMPLE)

demo: model sample
	@test -n "$(DEMO_ARGS_$(MODEL))" || { echo "MODEL must be movenet, tfpose or yolo"; exit 2; }
	@mkdir -p out
	$(BIN)/python -m pipeline -i $(SAMPLE) $(DEMO_ARGS_$(MODEL)) -no_show -o out/demo.mp4 --poses-out out/demo.jsonl
	@echo "annotated video: out/demo.mp4   poses: out/demo.jsonl"

test: model yolo sample standin mosquitto webtools
	$(BIN)/python -m pytest -q

# YOLO11n-pose for its real-weight tests: converted once into the cache (a throwaway torch
# environment, ~1.4 GB while it runs, removed afterwards; about 3 min on 2 busy cores), then
# found there in no time.
yolo: venv
	@$(BIN)/python scripts/fetch_model.py yolo11n-pose >/dev/null || \
	  echo "could not convert YOLO11n-pose: its real-weight tests will skip, saying why"

# The MQTT tests run a real broker: Debian's mosquitto (without it they skip, saying why).
mosquitto:
	@command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || { \
	  echo "installing mosquitto (the MQTT tests' broker) with apt-get"; \
	  (apt-get update -qq && apt-get install -y -qq mosquitto mosquitto-clients >/dev/null) || \
	  echo "could not install mosquitto: the MQTT tests will skip"; }

# The --http tests load the page in a real browser and scrape /metrics with a real Prometheus:
# Debian's chromium and prometheus (without them those tests skip, saying why).
webtools:
	@command -v chromium >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || { \
	  echo "installing chromium and prometheus (the --http tests' browser and scraper) with apt-get"; \
	  (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium prometheus >/dev/null) || \
	  echo "could not install chromium or prometheus: the --http browser or Prometheus test will skip"; }

test-nojit: venv
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q tests/decode

# Stand-in weights for the Open Model Zoo topologies in ../shared (interface and speed work only).
standin: venv
	@if [ -d $(SHARED)/models/omz ]; then \
	  $(BIN)/python $(SHARED)/models/make_standin_weights.py $(SHARED)/models/omz/intel/*/*/*.xml --out models/omz >/dev/null && \
	  echo "stand-in weights in models/omz/intel/"; \
	else echo "no $(SHARED)/models/omz here: skipping stand-in weights"; fi

# The many-cameras table wants H.264 clips: Debian's ffmpeg (libx264) writes them once.
bench: model sample standin
	@command -v ffmpeg >/dev/null || { echo "installing ffmpeg (H.264 clips for the many-cameras table) with apt-get"; \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null; } || \
	  echo "no ffmpeg: the many-cameras clips will be MPEG-4, written by OpenCV"; }
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/compare_models.py --out BENCHMARKS-models.md
	@if [ -f "$${POSEPIPE_COCO:-$$HOME/.cache/posepipe/coco}/person_keypoints.json" ]; then \
	  $(BIN)/python scripts/bench_accuracy.py --out BENCHMARKS-accuracy.md --json bench-accuracy.json; \
	else echo "no accuracy x speed table: no COCO set in ~/.cache/posepipe/coco (scripts/coco_subset.py)"; fi
	@if $(BIN)/python -c "import nncf" 2>/dev/null; then \
	  $(BIN)/python scripts/bench_int8.py --models yolo11n-pose,movenet --out bench-int8.json > BENCHMARKS-int8.md; \
	else echo "no INT8 table: NNCF is not installed (pip install -e '.[quantize]')"; fi

clean:
	rm -rf out build *.egg-info .pytest_cache
