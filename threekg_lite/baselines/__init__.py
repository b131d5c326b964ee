"""The views of the methods 3KG is compared with (SimCLR's generic time-series set)."""
