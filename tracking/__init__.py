"""Person tracking: ids that stay with each person across the frames of a source."""

from .tracker import NO_ID, SourceTrackers, Tracker, TrackerParams, warm_up

TRACKERS = ("bytetrack", "none")

__all__ = ["NO_ID", "TRACKERS", "SourceTrackers", "Tracker", "TrackerParams", "warm_up"]
