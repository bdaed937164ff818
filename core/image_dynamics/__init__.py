"""Image Dynamics: bring one still image to life.

The engine turns a *spectral volume* (per-pixel Fourier coefficients of natural oscillating motion) into displacement
fields by inverse DFT, and into frames by softmax splatting: a seamless loop at any resolution.
"""

from .errors import CancelledError, ImageDynamicsError, InputError, MotionFileError, OutputError
from .spectral import SpectralVolume

__version__ = "0.1.0"

__all__ = [
    "CancelledError",
    "ImageDynamicsError",
    "InputError",
    "MotionFileError",
    "OutputError",
    "SpectralVolume",
    "__version__",
]
