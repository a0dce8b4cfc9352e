"""What every codesign command line shares, by concern: parsers, output, interrupts and exit
codes (with errors.py), progress."""
