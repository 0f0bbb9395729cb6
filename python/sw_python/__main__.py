"""``python -m sw_python [-d] run [-p] <command ...>`` / ``python -m sw_python collector ...``."""

from skywalking.bootstrap.cli.sw_python import start

if __name__ == '__main__':
    start()
