"""Orders from the order system: intake, nearest-warehouse allocation, backorders, availability."""
