"""`make bench`: how fast magnaprov is, as ratios against references measured in the same run."""
