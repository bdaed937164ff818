"""Settings stored in the .blend: the artist's controls on the scene, and what was baked on each image.

- ``Scene.image_dynamics`` (:class:`ImageDynamicsSettings`): source image, motion source, edits, loop, mask, output.
  Strength and band gains are animatable: a bake samples their F-curves at every baked frame (``scene.animated_edits``).
  Decay is keyframeable but a bake reads it at the scene's current frame.
- ``Image.image_dynamics`` (:class:`ImageDynamicsImageState`): the motion last computed for the image (its cache key,
  an optional saved ``.npz``) and the last bake (folder, stem, frames, kinds), which the node setups read.

Paths are stored as entered, ``//``-relative to the .blend by default, so a .blend and its bakes move together
(to a render farm, say); :func:`resolve_path` turns them absolute with ``bpy.path.abspath``.
"""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

#: Frequencies (Hz) of the damping curve's control points; the engine interpolates linearly between them over each
#: band's frequency (GID's bands span 0 to 3 Hz).
BAND_GAIN_HZ = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
DEFAULT_OUTPUT_DIR = "//image_dynamics/"


#: First Blender whose path properties take the ``PATH_SUPPORTS_BLEND_RELATIVE`` option (4.5; older releases refuse
#: the whole property class at registration: "StringProperty could not register").
BLEND_RELATIVE_PATHS_SINCE = (4, 5, 0)


def _path_options(version: tuple[int, int, int] | None = None) -> set[str]:
    """Options of path properties: Blender 4.5+ must be told a path may be ``//``-relative; 4.2-4.4 know no such
    option (and only fail when the class registers, so the version decides, not a probe)."""
    version = tuple(bpy.app.version) if version is None else version
    return {"PATH_SUPPORTS_BLEND_RELATIVE"} if version >= BLEND_RELATIVE_PATHS_SINCE else set()


PATH_OPTIONS = _path_options()

MOTION_SOURCES = [
    ("MODEL", "Model", "The motion model (latent diffusion) shipped inside the engine; a 'default' package in the "
                       "Model Folder preference or $IMAGE_DYNAMICS_MODELS replaces it"),
    ("PROCEDURAL", "Procedural", "Stochastic swaying motion guided by the image: works with no model"),
    ("FILE", "Motion File", "A spectral volume (.npz) made elsewhere, or saved earlier"),
]
OUTPUT_KINDS = [
    ("SEQUENCE", "Image Sequence", "The animated frames, for an image-sequence texture"),
    ("DISPLACEMENT", "Displacement Maps", "Float EXR maps for the compositor Displace node and a Displace modifier"),
    ("BOTH", "Both", "Frames and displacement maps"),
]
FILE_FORMATS = [
    ("PNG", "PNG", "8-bit sRGB PNG frames"),
    ("EXR", "OpenEXR", "32-bit float scene-linear OpenEXR frames"),
]


def _poll_still_image(_self, image: bpy.types.Image) -> bool:
    return image.source in {"FILE", "GENERATED"}


class ImageDynamicsSettings(bpy.types.PropertyGroup):
    """The artist's controls (Scene.image_dynamics)."""

    image: PointerProperty(name="Image", type=bpy.types.Image, poll=_poll_still_image,
                           description="The still image to bring to life")
    # -- motion ----------------------------------------------------------------------------------------------------
    motion_source: EnumProperty(name="Source", items=MOTION_SOURCES, default="PROCEDURAL",
                                description="Where the motion comes from")
    seed: IntProperty(name="Seed", default=0, min=0, description="Random seed: the same seed gives the same motion")
    steps: IntProperty(name="Steps", default=0, min=0, max=1000,
                       description="Sampler steps of the motion model (0: the model's own default)")
    guidance: FloatProperty(name="Guidance", default=0.0, min=0.0, soft_max=6.0,
                            description="How strongly the motion model follows the image (classifier-free guidance; "
                                        "1: off, larger: bolder and more decided motion; 0: the model's own default)")
    motion_file: StringProperty(name="Motion File", subtype="FILE_PATH", options=PATH_OPTIONS, default="",
                                description="Spectral volume (.npz); relative to the .blend when it starts with //")
    dominant_hz: FloatProperty(name="Frequency", default=0.5, min=0.05, soft_max=3.0, unit="NONE",
                               description="Typical sway frequency of the moving parts, in Hz")
    falloff: FloatProperty(name="Fall-off", default=2.0, min=0.0, soft_max=5.0,
                           description="How fast the spectrum falls beyond the sway frequency (larger: calmer)")
    direction: FloatProperty(name="Direction", default=0.0, subtype="ANGLE",
                             description="Main sway direction in the picture: 0 = right, 90 degrees = down")
    directionality: FloatProperty(name="Directionality", default=0.5, min=0.0, max=1.0, subtype="FACTOR",
                                  description="0 = any direction, 1 = only along the main direction")
    coherence_px: FloatProperty(name="Coherence", default=48.0, min=1.0, soft_max=400.0, subtype="PIXEL",
                                description="Size of regions that move together, in image pixels")
    amplitude_px: FloatProperty(name="Amplitude", default=6.0, min=0.0, soft_max=40.0, subtype="PIXEL",
                                description="Typical displacement of freely moving parts, in image pixels")
    # -- frequencies (edits: never re-run the motion source) ------------------------------------------------------
    strength: FloatProperty(name="Strength", default=1.0, min=0.0, soft_max=4.0, options={"ANIMATABLE"},
                            description="Amplitude factor: above 1 magnifies the motion, below 1 calms it")
    band_gains: FloatVectorProperty(name="Band Gains", size=len(BAND_GAIN_HZ), default=(1.0,) * len(BAND_GAIN_HZ),
                                    min=0.0, soft_max=2.0, options={"ANIMATABLE"},
                                    description="Damping curve: gain at " + ", ".join(f"{f:g}" for f in BAND_GAIN_HZ)
                                    + " Hz, interpolated linearly between them")
    use_low_cut: BoolProperty(name="Low Cut", default=False, description="Remove bands below a frequency")
    low_cut_hz: FloatProperty(name="Low Cut", default=0.2, min=0.0, soft_max=3.0, description="Hz")
    use_high_cut: BoolProperty(name="High Cut", default=False, description="Remove bands above a frequency")
    high_cut_hz: FloatProperty(name="High Cut", default=2.0, min=0.0, soft_max=3.0, description="Hz")
    use_decay: BoolProperty(name="Decay", default=False,
                            description="Motion settles over time and ends on the still image (no loop)")
    decay_s: FloatProperty(name="Decay Time", default=1.0, min=0.01, soft_max=10.0, unit="TIME_ABSOLUTE",
                           options={"ANIMATABLE"}, description="Settling time constant tau, in seconds")
    # -- loop --------------------------------------------------------------------------------------------------------
    use_scene_range: BoolProperty(name="Scene Frame Range", default=True,
                                  description="Loop length = the scene's frame range (End - Start + 1)")
    loop_frames: IntProperty(name="Loop Frames", default=150, min=2, description="Frames in one loop")
    seamless: BoolProperty(name="Seamless", default=True,
                           description="Re-bin the motion so frame L equals frame 0 (physical speed kept)")
    time_stretch: BoolProperty(name="Time Stretch", default=False,
                               description="Fit the loop by speeding the whole motion up or down instead")
    # -- mask --------------------------------------------------------------------------------------------------------
    mask: PointerProperty(name="Mask", type=bpy.types.Image, poll=_poll_still_image,
                          description="Grey image limiting where things move: white moves, black stays")
    mask_feather_px: FloatProperty(name="Feather", default=8.0, min=0.0, soft_max=64.0, subtype="PIXEL",
                                   description="Softens the mask's edges, in image pixels")
    # -- output ------------------------------------------------------------------------------------------------------
    preview_max_side: IntProperty(name="Preview Size", default=960, min=64, soft_max=1920, max=8192, subtype="PIXEL",
                                  description="Longest side of the live preview in the Image Editor, in pixels")
    output_kind: EnumProperty(name="Output", items=OUTPUT_KINDS, default="SEQUENCE")
    displacement_forward: BoolProperty(name="Forward", default=True,
                                       description="Where each source pixel goes: for a Displace modifier")
    displacement_compositor: BoolProperty(name="Compositor", default=True,
                                          description="Carried to where pixels land: for the compositor Displace "
                                                      "node")
    output_dir: StringProperty(name="Folder", subtype="DIR_PATH", options=PATH_OPTIONS, default=DEFAULT_OUTPUT_DIR,
                               description="Bakes go to <folder>/<image name>/; // means next to the .blend")
    file_format: EnumProperty(name="Format", items=FILE_FORMATS, default="PNG")
    overwrite: BoolProperty(name="Overwrite", default=False,
                            description="Replace an existing bake of this image (otherwise a bake refuses)")


class ImageDynamicsImageState(bpy.types.PropertyGroup):
    """What Image Dynamics made for one image (Image.image_dynamics)."""

    motion_key: StringProperty(name="Motion Key", description="Cache key of the motion last computed")
    motion_file: StringProperty(name="Saved Motion", subtype="FILE_PATH", options=PATH_OPTIONS,
                                description="The motion saved beside the .blend, if any")
    bake_dir: StringProperty(name="Bake Folder", subtype="DIR_PATH", options=PATH_OPTIONS,
                             description="Folder of the last bake")
    bake_stem: StringProperty(name="Bake Stem", description="File-name stem of the last bake")
    bake_frames: IntProperty(name="Frames", default=0, description="Frames in the last bake")
    bake_start: IntProperty(name="Start Frame", default=1, description="Scene frame that shows the first baked frame")
    bake_fps: FloatProperty(name="FPS", default=0.0)
    bake_loops: BoolProperty(name="Loops", default=True,
                             description="The bake is a loop (plays cyclically); a decaying bake holds its last frame")
    bake_format: StringProperty(name="Format", description="'png' or 'exr', empty when no frames were baked")
    bake_forward: BoolProperty(name="Forward Maps", default=False)
    bake_compositor: BoolProperty(name="Compositor Maps", default=False)


classes = (ImageDynamicsSettings, ImageDynamicsImageState)


def resolve_path(path: str) -> str:
    """An absolute file-system path from a stored (possibly ``//``-relative) one."""
    return bpy.path.abspath(path) if path else ""


def relative_path(path: str) -> str:
    """``path`` relative to the .blend (``//...``) when the .blend is saved and on the same drive, else unchanged."""
    if not bpy.data.filepath:
        return path
    try:
        return bpy.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path


def attach() -> None:
    """Add the pointer properties to Scene and Image (after :data:`classes` are registered)."""
    bpy.types.Scene.image_dynamics = PointerProperty(type=ImageDynamicsSettings)
    bpy.types.Image.image_dynamics = PointerProperty(type=ImageDynamicsImageState)


def detach() -> None:
    """Remove what :func:`attach` added (before :data:`classes` are unregistered)."""
    for owner in (bpy.types.Image, bpy.types.Scene):
        if hasattr(owner, "image_dynamics"):
            del owner.image_dynamics
