"""Torch side of the motion model: networks, diffusion, training loop (the ``train`` extra).

Only this package imports torch; the runtime (``image_dynamics.model``) runs exported ONNX graphs with numpy.

Modules:
    configs         named hyperparameter sets (``tiny``, ``default``, ``large``)
    layers          building blocks shared by the networks
    vae             spectral VAE: one normalised 4-channel frequency slice <-> a 4-channel latent
    image_encoder   conv image encoder giving the conditioning feature pyramid
    unet            latent denoiser with timestep / frequency embeddings and attention across frequencies
    diffusion       noise schedule, v-prediction loss, DDIM sampler
    model           ``MotionModel`` (image -> spectral-volume coefficients) and its checkpoints
    regression      direct-regression baseline of similar size
    data            dataset access for training (shard streaming, resizing, latent cache)
    loop            ``train`` and ``train_regression``: staged training with checkpoints and resume
    export          model packages: the ONNX graphs of ``model.export_graphs`` and ``model.json``
"""

from __future__ import annotations

from ..errors import ImageDynamicsError

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImageDynamicsError(
        f"training and the torch model need PyTorch, which is not installed ({exc}). "
        "Install the train extra: pip install 'image-dynamics[train]'."
    ) from None
