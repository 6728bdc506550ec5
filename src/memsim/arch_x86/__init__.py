"""x86 architecture code (arch/x86) that the model needs beyond arch.py's layout tables."""
