"""Building blocks of the procedural scenes in :mod:`image_dynamics.data.synth`.

- :mod:`.motion`: layer motion as smooth per-pixel sums of sinusoids; exact trajectories and their DFT.
- :mod:`.canvas`: layers, the scene (painter's-order compositing of colour and motion, true frames), drawing, noise,
  colour.
- one module per scene family of objects: :mod:`.sky` (sky, clouds, hills), :mod:`.ground` (ground, rocks),
  :mod:`.structures` (buildings, fences, poles), :mod:`.plants` (grass, flowers, bushes, hedges, trees),
  :mod:`.water` (waves in perspective), :mod:`.cloth` (flags, laundry, curtains), :mod:`.flames` (candles, fires),
  :mod:`.interior` (walls, tables, windows, pictures), and :mod:`.families` which composes whole scenes.
"""
