"""Image Dynamics: bring one still image to life.

The engine turns a *spectral volume* (per-pixel Fourier coefficients of natural oscillating motion) into displacement
fields by inverse DFT, and into frames by softmax splatting: a seamless loop at any resolution.
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import CancelledError, ImageDynamicsError, InputError, MotionFileError, OutputError
from .spectral import SpectralVolume

try:  # pyproject.toml is the one source of the version; the installed distribution's metadata carries it
    __version__ = version("image-dynamics")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "CancelledError",
    "ImageDynamicsError",
    "InputError",
    "MotionFileError",
    "OutputError",
    "SpectralVolume",
    "__version__",
]
