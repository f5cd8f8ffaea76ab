"""Command line entry point (filled in by the server work)."""
import sys


def main(argv=None):
    print("sfemu: serve not implemented yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
