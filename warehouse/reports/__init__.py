"""Read-only views for the supervisor dashboard that no other endpoint gives: who is working on which
open task right now, the day's throughput per hour, and the names behind user ids in the live feed."""
