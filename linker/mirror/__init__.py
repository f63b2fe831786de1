"""The exact mirror engine: same offsets, same CRC-covered batch bytes."""
