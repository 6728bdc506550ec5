"""Header-like types and constants (the kernel's include/); no algorithms here."""
