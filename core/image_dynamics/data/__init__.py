"""Training data: synthetic scenes with exact motion, real videos to spectral volumes, sharded datasets."""
