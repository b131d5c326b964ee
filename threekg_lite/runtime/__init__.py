"""What every part of the package runs on: errors, shared argument checks, mixed precision,
several processes (``torchrun``) and checkpoints. Imports nothing else of threekg_lite."""
