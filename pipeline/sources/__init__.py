"""Sources: what ``-i`` names, what each input is, how its frames are read, and the run's table of
sources.

* :mod:`.inputs`: what ``-i`` names (files, folders, camera ids, stream URLs, ``.streams`` lists);
* :mod:`.spec`: one source of the run (:class:`SourceSpec`) and what probing found (:class:`SourceInfo`);
* :mod:`.probe`: what an input is and how large its frames are, before anything starts;
* :mod:`.readers`: the readers that yield frames in a capture process;
* :mod:`.filecheck` and :mod:`.cvpath`: checks that do not trust a container, and file names
  OpenCV can take;
* :mod:`.table`, :mod:`.stats`, :mod:`.shapes`: the controller's view of the sources (which
  capture process reads each, their figures, and the network input size each one gets);
* :mod:`.limits`: the open-file limit that many sources need.
"""

import os

os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")  # before any module here imports cv2
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg quiet: failures reach the user as one line

from .inputs import (IMAGE_EXTENSIONS, STREAMS_SUFFIX, expand_inputs, is_camera_id, is_stream_url,  # noqa: E402
                     live_kind, source_lists)
from .limits import ensure_open_files  # noqa: E402
from .probe import probe  # noqa: E402
from .readers import Captured, Reader, open_reader  # noqa: E402
from .shapes import model_for, plan_source_models  # noqa: E402
from .spec import SourceInfo, SourceSpec  # noqa: E402
from .table import SourceTable, capture_workers, source_lines  # noqa: E402

__all__ = ["IMAGE_EXTENSIONS", "STREAMS_SUFFIX", "Captured", "Reader", "SourceInfo", "SourceSpec", "SourceTable",
           "capture_workers", "ensure_open_files", "expand_inputs", "is_camera_id", "is_stream_url", "live_kind", "model_for",
           "open_reader", "plan_source_models", "probe", "source_lines", "source_lists"]
