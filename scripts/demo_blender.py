"""Drive the Blender add-on headless through the ``bpy`` module on the bundled sample photo.

Enables the add-on from ``blender_addon/``, loads ``forest.jpg``, predicts procedural motion, bakes a 48-frame loop
(PNG frames + compositor displacement maps) next to a saved .blend, creates the material and compositor setups,
renders one frame of each with Workbench, and saves the .blend. Everything goes to ``out/blender/`` (or ``--out``)::

    .venv/bin/python scripts/demo_blender.py

The same steps inside a Blender executable: ``blender -b --python scripts/demo_blender.py`` (with the extension
installed, the add-on is enabled as ``bl_ext.user_default.image_dynamics`` instead).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "core" / "image_dynamics" / "samples" / "forest.jpg"


def enable_addon() -> str:
    """Enable the installed extension if there is one, else the add-on from this checkout; return its module name."""
    import bpy

    addon_utils = importlib.import_module("addon_utils")  # Blender's own module: importable once bpy is

    installed = [m for m in bpy.context.preferences.addons.keys() if m.endswith(".image_dynamics")]
    if installed:
        return installed[0]
    sys.path.insert(0, str(ROOT))
    if addon_utils.enable("blender_addon", default_set=True) is None:
        raise SystemExit("demo_blender: could not enable blender_addon (see the messages above)")
    return "blender_addon"


def check(result: set[str], what: str) -> None:
    if "FINISHED" not in result:
        raise SystemExit(f"demo_blender: {what} failed (see the report above)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "blender", help="output folder")
    parser.add_argument("--frames", type=int, default=48, help="loop length in frames (default 48)")
    args = parser.parse_args(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else argv)

    import bpy

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    module = enable_addon()
    blend = out / "forest_demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))  # bakes go next to it: //image_dynamics/forest/

    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, args.frames
    scene.render.fps, scene.render.fps_base = 24, 1.0
    image = bpy.data.images.load(str(SAMPLE))
    settings = scene.image_dynamics
    settings.image = image
    settings.motion_source = "PROCEDURAL"
    settings.output_kind = "BOTH"
    settings.displacement_forward = False
    settings.displacement_compositor = True
    settings.file_format = "PNG"
    settings.overwrite = True

    check(bpy.ops.image_dynamics.predict(), "predict")
    check(bpy.ops.image_dynamics.bake(), "bake")
    check(bpy.ops.image_dynamics.setup_material(), "material setup")

    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "FLAT"
    scene.display.shading.color_type = "TEXTURE"
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    frame = args.frames // 4
    scene.frame_set(frame)
    scene.render.filepath = str(out / f"render_material_{frame:04d}.png")
    bpy.ops.render.render(write_still=True)

    check(bpy.ops.image_dynamics.setup_compositor(), "compositor setup")
    scene.render.filepath = str(out / f"render_compositor_{frame:04d}.png")
    bpy.ops.render.render(write_still=True)
    bpy.ops.wm.save_mainfile()

    state = image.image_dynamics
    print(f"\ndemo_blender: add-on {module}: {state.bake_frames} frames baked, done in "
          f"{time.monotonic() - started:.1f} s")
    print(f"  .blend:           {blend}")
    print(f"  frames:           {out / 'image_dynamics' / 'forest' / 'forest_0001.png'} ...")
    print(f"  compositor maps:  {out / 'image_dynamics' / 'forest' / 'forest_compositor_0001.exr'} ...")
    print(f"  renders (frame {frame}): {out / f'render_material_{frame:04d}.png'}, "
          f"{out / f'render_compositor_{frame:04d}.png'}")
    print("  open the .blend in Blender 4.2+ with the extension installed and press Play.")


if __name__ == "__main__":
    main()
