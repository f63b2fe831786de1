"""The four contenders. Each runs as its own process so its CPU and peak RSS are its own."""
