"""The synthetic entity world: procedurally drawn entities, articles, and questions with style-shifted images.

`generate_world(out_dir, WorldConfig(...))` writes a world in the pipeline's own formats (articles JSONL for
`kvqae kb build`, kvqae questions JSONL per split); `kvqae world --out DIR` does the same from the command
line.
"""

from kvqae.world.generate import SPLITS, WorldConfig, depiction_split, generate_world, image_title_pairs

__all__ = ["SPLITS", "WorldConfig", "depiction_split", "generate_world", "image_title_pairs"]
