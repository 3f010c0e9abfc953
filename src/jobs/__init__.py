"""Jobs: a personal AI assistant that lives in a Telegram account."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jobs-assistant")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
