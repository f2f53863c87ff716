"""Publishing results live: one JSON message per frame to an MQTT broker (``--publish``).

Where it sends (``--publish``'s address, checked before the run starts) is
:mod:`pipeline.outputs.publish`; this package holds the message and the client.
"""

from pipeline.outputs.publish import MqttTarget, check_options, parse_target

from .message import SCHEMA_PATH, epoch_of, frame_message, pose_entries

__all__ = ["SCHEMA_PATH", "MqttTarget", "check_options", "epoch_of", "frame_message", "parse_target",
           "pose_entries"]
