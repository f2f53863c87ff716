"""Publishing results live: one JSON message per frame to an MQTT broker (``--publish``)."""

from .message import SCHEMA_PATH, epoch_of, frame_message, pose_entries
from .target import MqttTarget, check_options, parse_target

__all__ = ["SCHEMA_PATH", "MqttTarget", "check_options", "epoch_of", "frame_message", "parse_target",
           "pose_entries"]
