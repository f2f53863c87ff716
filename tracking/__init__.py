"""Person tracking: ids that stay with each person across the frames of a source."""

from config import load_defaults

from .tracker import NO_ID, SourceTrackers, Tracker, TrackerParams, warm_up

TRACKERS = tuple(load_defaults()["tracking"]["kinds"])  # what --tracker may name

__all__ = ["NO_ID", "TRACKERS", "SourceTrackers", "Tracker", "TrackerParams", "warm_up"]
