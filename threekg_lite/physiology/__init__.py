"""What the VCG says about the heart: loops, axes, the spatial QRS-T angle, per record."""
