# Two commands for a newcomer: `make demo` and `make test`. Everything else is here for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SAMPLE := media/vtest.avi
SHARED ?= ../shared

.PHONY: venv model sample demo test test-nojit bench standin clean

venv: $(STAMP)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@$(BIN)/python -c "import cv2" 2>/dev/null || { \
	  echo "OpenCV needs system libraries: installing libgl1 and libglib2.0-0 with apt-get"; \
	  apt-get update -qq && apt-get install -y -qq libgl1 libglib2.0-0 >/dev/null; }
	$(BIN)/python -c "import cv2, numba, openvino, zmq"
	touch $(STAMP)

model: venv
	@$(BIN)/python scripts/fetch_model.py

sample: $(SAMPLE)
$(SAMPLE):
	$(PYTHON) scripts/fetch_sample.py --out $(SAMPLE)

demo: model sample
	@mkdir -p out
	$(BIN)/python -m pipeline -i $(SAMPLE) -at movenet -no_show -o out/demo.mp4 --poses-out out/demo.jsonl
	@echo "annotated video: out/demo.mp4   poses: out/demo.jsonl"

test: model sample standin
	$(BIN)/python -m pytest -q

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

clean:
	rm -rf out build *.egg-info .pytest_cache
