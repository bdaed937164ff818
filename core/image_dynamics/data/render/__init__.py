"""Photoreal training scenes rendered with Blender (Cycles, CPU), with the exact motion of every pixel.

Only the worker processes of ``data render`` import :mod:`bpy` (through :mod:`.blender` and :mod:`.worker`); every
other module of this package is plain numpy, so importing :mod:`image_dynamics` never imports Blender:

- :mod:`.motion`: deformation of moving objects as a function of rest position and time (the truth);
- :mod:`.camera`: the pinhole camera and its projection to pixels, with the thin-lens blur;
- :mod:`.geometry`: triangle meshes (blades, leaves, tubes, rocks, boxes, sheets, flames) in numpy;
- :mod:`.scene`: scene layouts drawn from a seed (families, objects, geometry, materials, lighting, camera);
- :mod:`.truth`: per-pixel spectral volume and ``known`` mask from the rendered rest-position / part-id passes;
- :mod:`.dataset`: the resumable sharded dataset writer that runs the worker processes;
- :mod:`.blender` (bpy): builds and renders a scene with its passes; :mod:`.worker` (bpy): one sample, start to end.

See docs/data.md ("Rendered scenes").
"""
