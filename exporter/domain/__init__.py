"""Pure domain rules: no I/O, no clock reads, no framework imports."""
