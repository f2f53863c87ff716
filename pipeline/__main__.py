import signal
import sys


def _interrupted_early(signum: int, frame: object) -> None:
    """SIGTERM or SIGHUP while Python is still importing the pipeline: exit 130, as later."""
    print(f"error: interrupted by {signal.Signals(signum).name} while starting", file=sys.stderr)
    raise SystemExit(130)


if __name__ == "__main__":  # not when a stage process re-imports this as __mp_main__: it starts faster
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(_sig, _interrupted_early)
    from .cli import main
    sys.exit(main())
