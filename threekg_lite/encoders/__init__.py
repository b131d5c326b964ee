"""The networks that turn an ECG ``(B, 12, T)`` into a feature vector, and their cost."""
