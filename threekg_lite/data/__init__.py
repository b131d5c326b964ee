"""Data: real PhysioNet databases in their official layouts, the prepare-once cache,
preprocessing, downloads, and the synthetic ECG generator."""
