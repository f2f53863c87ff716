"""Outputs: where the run's results go, checked before any stage starts.

* :mod:`.paths`: each source's ``-o`` path, the kind of output it names, and that it can be written;
* :mod:`.overwrite`: no output may be an input;
* :mod:`.publish`: where ``--publish`` sends (the MQTT client itself is :mod:`publishing`).
"""

from .overwrite import check_outputs_spare_inputs, check_run_outputs
from .paths import VIDEO_CODECS, check_writable_file, check_writable_folder, output_for, output_kind
from .publish import MqttTarget, check_options, parse_target

__all__ = ["VIDEO_CODECS", "MqttTarget", "check_options", "check_outputs_spare_inputs", "check_run_outputs",
           "check_writable_file", "check_writable_folder", "output_for", "output_kind", "parse_target"]
