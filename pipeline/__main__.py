import sys

if __name__ == "__main__":  # not when a stage process re-imports this as __mp_main__: it starts faster
    from .cli import main
    sys.exit(main())
