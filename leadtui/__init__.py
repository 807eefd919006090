"""leadtui: a keyboard-only call-floor terminal for real-estate phone reps."""

__version__ = "0.1.0"
