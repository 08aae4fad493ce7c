"""worktrack: track a sub-district's annual work plan against monthly community reports."""

__version__ = "0.1.0"
