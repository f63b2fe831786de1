"""The link lifecycle: persisted mirror states and commands, offset and config sync, promote, failover."""
