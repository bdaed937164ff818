"""Write tests/data/flow_annotations.blend: annotation strokes (an "Arrows" and an "Anchors" layer) drawn over the
default image plane (height 2, centred at the origin, in the XY plane), for tests/blender/test_flow.py.

Annotation strokes can only be made through the Python API on Blender 4.2 (4.5 and 5.0 have no ``strokes.new``), so
run this with a bpy 4.2 module (scripts/blender_envs.sh makes one): ``python scripts/make_flow_annotation_blend.py``.
Later Blenders open the file and convert the strokes to their annotation type.
"""

from __future__ import annotations

import sys
from pathlib import Path

import bpy

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "flow_annotations.blend"
#: World-space strokes (x, y, z): an arrow pointing right and a little down, and an anchor stroke along the bottom.
STROKES = {"Arrows": [[(-1.0, 0.5, 0.0), (-0.25, 0.4, 0.0), (0.5, 0.2, 0.0)]],
           "Anchors": [[(-1.5, -0.8, 0.0), (0.0, -0.8, 0.0), (1.5, -0.7, 0.0)]]}


def main() -> int:
    if bpy.app.version >= (4, 3, 0):
        print(f"needs bpy 4.2 (annotation strokes.new); this is {bpy.app.version_string}", file=sys.stderr)
        return 2
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    notes = bpy.data.grease_pencils.new("Annotations")
    scene.grease_pencil = notes
    for layer_name, strokes in STROKES.items():
        layer = notes.layers.new(layer_name)
        frame = layer.frames.new(1)
        for points in strokes:
            stroke = frame.strokes.new()
            stroke.points.add(len(points))
            for point, co in zip(stroke.points, points):
                point.co = co
    OUT.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(OUT), compress=True)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
