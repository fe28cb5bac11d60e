"""Procedural drawings of world entities with PIL, and depictions under style shifts.

An entity is drawn as a silhouette (fixed by its noun) filled with its base colour and overlaid with its
pattern in the secondary colour, with dark outline and noun-specific details. A depiction then applies a style
("photo", "statue": grey stone body in a colour scene, "sketch": edge drawing on paper), a geometric pose
(rotation, scale, shift that may crop the entity), background clutter and partial occlusion. Drawing happens
at twice the output size and is reduced at the end (cheap anti-aliasing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from kvqae.world.entities import COLOURS, SECONDARY, Entity

STYLES = ("photo", "statue", "sketch")
DARK = (28, 26, 30)
SKIN = (226, 186, 150)
KB_BACKGROUND = (232, 232, 226)


@dataclass
class Pose:
    """How a depiction differs from the canonical KB drawing.

    `angle` degrees; `scale` size factor; `dx`, `dy` shift as a fraction of the image side; `clutter` number
    of background shapes; `occlusion` fraction of the entity box covered by an occluder (0 = none); `style`
    one of STYLES; `background` "plain" (KB) or "scene"; `scene_weight` how strongly the scene is blended over
    the plain KB background (0..1).
    """

    angle: float = 0.0
    scale: float = 1.0
    dx: float = 0.0
    dy: float = 0.0
    clutter: int = 0
    occlusion: float = 0.0
    style: str = "photo"
    background: str = "plain"
    scene_weight: float = 1.0

    def to_dict(self) -> dict:
        return {
            "angle": round(self.angle, 2),
            "scale": round(self.scale, 3),
            "dx": round(self.dx, 3),
            "dy": round(self.dy, 3),
            "clutter": self.clutter,
            "occlusion": round(self.occlusion, 3),
            "style": self.style,
            "background": self.background,
            "scene_weight": round(self.scene_weight, 3),
        }


def sample_pose(rng: np.random.Generator, style_shift: float) -> Pose:
    """A question-image pose; every shift grows with `style_shift` (0: near copy of the KB image, 1: most).

    A non-photo style (statue or sketch) is chosen with probability `style_shift`; the background is a scene
    (sky over ground) blended over the KB's plain background with weight min(1, 2*s); rotation up to 3 + 25*s
    degrees, scale within [0.95 - 0.3*s, 1.05 + 0.15*s], shift up to 0.03 + 0.12*s of the side, up to 10*s
    clutter shapes, an occluder (15-35% of the entity box) with probability 0.5*s.
    """
    s = float(style_shift)
    style = "photo"
    if rng.random() < s:
        style = "statue" if rng.random() < 0.5 else "sketch"
    max_angle = 3 + 25 * s
    max_shift = 0.03 + 0.12 * s
    return Pose(
        angle=float(rng.uniform(-max_angle, max_angle)),
        scale=float(rng.uniform(0.95 - 0.3 * s, 1.05 + 0.15 * s)),
        dx=float(rng.uniform(-max_shift, max_shift)),
        dy=float(rng.uniform(-max_shift, max_shift)),
        clutter=int(rng.integers(0, int(round(10 * s)) + 1)),
        occlusion=float(rng.uniform(0.15, 0.35)) if rng.random() < 0.5 * s else 0.0,
        style=style,
        background="scene",
        scene_weight=min(1.0, 2 * s),
    )


# ---------------------------------------------------------------------------------------------- silhouettes
# Each function draws the patterned body into `body` (an "L" mask, fill 255) and returns a list of detail
# operations (method name, args, kwargs) drawn on top in fixed colours after the pattern is applied.

Details = list[tuple[str, tuple, dict]]


def _knight(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    d.rectangle([cx - 0.22 * w, cy - 0.22 * h, cx + 0.22 * w, cy + 0.2 * h], fill=255)  # torso
    d.rectangle([cx - 0.2 * w, cy + 0.2 * h, cx - 0.04 * w, cy + 0.5 * h], fill=255)  # legs
    d.rectangle([cx + 0.04 * w, cy + 0.2 * h, cx + 0.2 * w, cy + 0.5 * h], fill=255)
    d.rectangle([cx - 0.36 * w, cy - 0.2 * h, cx - 0.24 * w, cy + 0.12 * h], fill=255)  # arms
    d.rectangle([cx + 0.24 * w, cy - 0.2 * h, cx + 0.36 * w, cy + 0.12 * h], fill=255)
    r = 0.13 * h
    ops: Details = [("ellipse", ([cx - r, cy - 0.24 * h - 2 * r, cx + r, cy - 0.24 * h],), {"fill": SKIN})]
    if v == 0:  # plume
        ops.append(
            (
                "polygon",
                ([(cx, cy - 0.5 * h), (cx + 0.12 * w, cy - 0.36 * h), (cx - 0.04 * w, cy - 0.4 * h)],),
                {"fill": DARK},
            )
        )
    sword_x = cx + (0.42 if v != 2 else -0.42) * w
    ops.append(("line", ([(sword_x, cy - 0.35 * h), (sword_x, cy + 0.15 * h)],), {"fill": DARK, "width": 3}))
    return ops


def _sage(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    d.polygon(
        [
            (cx - 0.14 * w, cy - 0.2 * h),
            (cx + 0.14 * w, cy - 0.2 * h),
            (cx + 0.36 * w, cy + 0.5 * h),
            (cx - 0.36 * w, cy + 0.5 * h),
        ],
        fill=255,
    )  # robe
    d.polygon(
        [(cx - 0.18 * w, cy - 0.3 * h), (cx + 0.18 * w, cy - 0.3 * h), (cx, cy - 0.5 * h)], fill=255
    )  # hat
    r = 0.1 * h
    ops: Details = [("ellipse", ([cx - r, cy - 0.3 * h, cx + r, cy - 0.3 * h + 2 * r],), {"fill": SKIN})]
    staff = cx + (0.42 if v == 0 else -0.42) * w
    ops.append(("line", ([(staff, cy - 0.42 * h), (staff, cy + 0.5 * h)],), {"fill": DARK, "width": 3}))
    if v == 2:  # beard
        ops.append(
            (
                "polygon",
                ([(cx - 0.08 * w, cy - 0.14 * h), (cx + 0.08 * w, cy - 0.14 * h), (cx, cy + 0.02 * h)],),
                {"fill": (235, 235, 235)},
            )
        )
    return ops


def _tower(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    d.rectangle([cx - 0.22 * w, cy - 0.22 * h, cx + 0.22 * w, cy + 0.5 * h], fill=255)
    if v == 0:
        d.polygon(
            [(cx - 0.3 * w, cy - 0.22 * h), (cx + 0.3 * w, cy - 0.22 * h), (cx, cy - 0.5 * h)], fill=255
        )
    elif v == 1:  # crenellations
        for k in range(3):
            x0 = cx - 0.22 * w + k * 0.18 * w
            d.rectangle([x0, cy - 0.34 * h, x0 + 0.08 * w, cy - 0.22 * h], fill=255)
    else:  # dome
        d.ellipse([cx - 0.24 * w, cy - 0.44 * h, cx + 0.24 * w, cy - 0.02 * h], fill=255)
    return [
        ("rectangle", ([cx - 0.07 * w, cy + 0.3 * h, cx + 0.07 * w, cy + 0.5 * h],), {"fill": DARK}),
        ("rectangle", ([cx - 0.06 * w, cy - 0.08 * h, cx + 0.06 * w, cy + 0.04 * h],), {"fill": DARK}),
    ]


def _hall(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    d.rectangle([cx - 0.5 * w, cy - 0.05 * h, cx + 0.5 * w, cy + 0.4 * h], fill=255)
    if v == 2:
        d.ellipse([cx - 0.25 * w, cy - 0.35 * h, cx + 0.25 * w, cy + 0.15 * h], fill=255)
    else:
        d.polygon(
            [(cx - 0.55 * w, cy - 0.05 * h), (cx + 0.55 * w, cy - 0.05 * h), (cx, cy - 0.35 * h)], fill=255
        )
    ops: Details = []
    n_cols = 4 if v == 1 else 3
    for k in range(n_cols):
        x = cx - 0.35 * w + k * 0.7 * w / (n_cols - 1)
        ops.append(("line", ([(x, cy + 0.02 * h), (x, cy + 0.4 * h)],), {"fill": DARK, "width": 3}))
    return ops


def _hound(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    d.ellipse([cx - 0.38 * w, cy - 0.12 * h, cx + 0.3 * w, cy + 0.22 * h], fill=255)  # body
    for x in (-0.3, -0.15, 0.1, 0.22):
        d.rectangle([cx + x * w, cy + 0.1 * h, cx + (x + 0.08) * w, cy + 0.45 * h], fill=255)
    d.ellipse([cx + 0.2 * w, cy - 0.38 * h, cx + 0.5 * w, cy - 0.06 * h], fill=255)  # head
    tail_y = cy - (0.3 if v == 0 else 0.05) * h
    d.line([(cx - 0.36 * w, cy - 0.02 * h), (cx - 0.5 * w, tail_y)], fill=255, width=5)
    ear = [(cx + 0.26 * w, cy - 0.32 * h), (cx + 0.34 * w, cy - 0.5 * h), (cx + 0.38 * w, cy - 0.3 * h)]
    if v == 2:
        d.polygon(ear, fill=255)
    return [("ellipse", ([cx + 0.37 * w, cy - 0.27 * h, cx + 0.42 * w, cy - 0.22 * h],), {"fill": DARK})]


def _owl(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    d.ellipse([cx - 0.3 * w, cy - 0.35 * h, cx + 0.3 * w, cy + 0.5 * h], fill=255)
    d.polygon(
        [(cx - 0.28 * w, cy - 0.2 * h), (cx - 0.24 * w, cy - 0.5 * h), (cx - 0.08 * w, cy - 0.3 * h)],
        fill=255,
    )
    d.polygon(
        [(cx + 0.28 * w, cy - 0.2 * h), (cx + 0.24 * w, cy - 0.5 * h), (cx + 0.08 * w, cy - 0.3 * h)],
        fill=255,
    )
    r = (0.1 + 0.02 * v) * w
    ops: Details = []
    for sx in (-1, 1):
        ex = cx + sx * 0.13 * w
        ops.append(
            ("ellipse", ([ex - r, cy - 0.2 * h - r, ex + r, cy - 0.2 * h + r],), {"fill": (250, 250, 240)})
        )
        ops.append(
            (
                "ellipse",
                ([ex - r / 2.5, cy - 0.2 * h - r / 2.5, ex + r / 2.5, cy - 0.2 * h + r / 2.5],),
                {"fill": DARK},
            )
        )
    ops.append(
        (
            "polygon",
            ([(cx - 0.04 * w, cy - 0.1 * h), (cx + 0.04 * w, cy - 0.1 * h), (cx, cy)],),
            {"fill": (240, 170, 30)},
        )
    )
    return ops


def _car(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    d.rectangle([cx - 0.5 * w, cy - 0.05 * h, cx + 0.5 * w, cy + 0.22 * h], fill=255)
    top = 0.3 if v != 1 else 0.38
    d.polygon(
        [
            (cx - 0.3 * w, cy - 0.05 * h),
            (cx - 0.18 * w, cy - top * h),
            (cx + 0.2 * w, cy - top * h),
            (cx + 0.32 * w, cy - 0.05 * h),
        ],
        fill=255,
    )
    ops: Details = [
        (
            "rectangle",
            ([cx - 0.14 * w, cy - (top - 0.06) * h, cx + 0.16 * w, cy - 0.1 * h],),
            {"fill": (200, 225, 240)},
        )
    ]
    r = 0.13 * w
    wheels = (-0.3, 0.3) if v != 2 else (-0.32, 0.0, 0.32)
    for x in wheels:
        ops.append(
            (
                "ellipse",
                ([cx + x * w - r, cy + 0.22 * h - r, cx + x * w + r, cy + 0.22 * h + r],),
                {"fill": DARK},
            )
        )
    return ops


def _ship(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    d.polygon(
        [
            (cx - 0.5 * w, cy + 0.15 * h),
            (cx + 0.5 * w, cy + 0.15 * h),
            (cx + 0.36 * w, cy + 0.4 * h),
            (cx - 0.36 * w, cy + 0.4 * h),
        ],
        fill=255,
    )  # hull
    d.polygon(
        [(cx + 0.03 * w, cy - 0.45 * h), (cx + 0.03 * w, cy + 0.1 * h), (cx + 0.4 * w, cy + 0.1 * h)],
        fill=255,
    )  # main sail
    if v != 0:
        d.polygon(
            [(cx - 0.03 * w, cy - 0.35 * h), (cx - 0.03 * w, cy + 0.1 * h), (cx - 0.36 * w, cy + 0.1 * h)],
            fill=255,
        )
    ops: Details = [("line", ([(cx, cy - 0.5 * h), (cx, cy + 0.15 * h)],), {"fill": DARK, "width": 3})]
    if v == 2:
        ops.append(
            (
                "polygon",
                ([(cx, cy - 0.5 * h), (cx + 0.12 * w, cy - 0.46 * h), (cx, cy - 0.42 * h)],),
                {"fill": (220, 40, 40)},
            )
        )
    return ops


def _vase(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    neck = 0.12 + 0.04 * v
    profile = [(neck, -0.5), (neck * 0.8, -0.35), (0.38, -0.1), (0.4, 0.15), (0.28, 0.42), (0.18, 0.5)]
    pts = [(cx + x * w, cy + y * h) for x, y in profile]
    pts += [(cx - x * w, cy + y * h) for x, y in reversed(profile)]
    d.polygon(pts, fill=255)
    return [
        (
            "line",
            ([(cx - neck * w, cy - 0.5 * h), (cx + neck * w, cy - 0.5 * h)],),
            {"fill": DARK, "width": 4},
        )
    ]


def _banner(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    bottom = [
        (cx + 0.3 * w, cy + 0.5 * h),
        (cx, cy + (0.3 if v != 1 else 0.5) * h),
        (cx - 0.3 * w, cy + 0.5 * h),
    ]
    d.polygon([(cx - 0.3 * w, cy - 0.4 * h), (cx + 0.3 * w, cy - 0.4 * h), *bottom], fill=255)
    ops: Details = [
        (
            "line",
            ([(cx - 0.42 * w, cy - 0.42 * h), (cx + 0.42 * w, cy - 0.42 * h)],),
            {"fill": DARK, "width": 4},
        )
    ]
    if v == 2:
        ops.append(("ellipse", ([cx - 0.1 * w, cy - 0.2 * h, cx + 0.1 * w, cy],), {"fill": (240, 230, 200)}))
    return ops


def _peak(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    apex = (cx + (v - 1) * 0.12 * w, cy - 0.5 * h)
    d.polygon([(cx - 0.5 * w, cy + 0.45 * h), (cx + 0.5 * w, cy + 0.45 * h), apex], fill=255)
    # snow cap: the top fifth of the triangle
    left = (apex[0] + (cx - 0.5 * w - apex[0]) * 0.22, apex[1] + 0.95 * h * 0.22)
    right = (apex[0] + (cx + 0.5 * w - apex[0]) * 0.22, apex[1] + 0.95 * h * 0.22)
    return [("polygon", ([apex, right, left],), {"fill": (250, 250, 252)})]


def _ridge(d: ImageDraw.ImageDraw, cx: float, cy: float, w: float, h: float, v: int) -> Details:
    heights = [(-0.3, 0.5), (0.05, 0.2 + 0.1 * v), (0.3, 0.35)]
    pts = [(cx - 0.5 * w, cy + 0.45 * h)]
    for k, (x, top) in enumerate(heights):
        pts.append((cx + x * w, cy - top * h))
        if k < len(heights) - 1:
            pts.append((cx + (x + heights[k + 1][0]) / 2 * w, cy + 0.05 * h))
    pts.append((cx + 0.5 * w, cy + 0.45 * h))
    d.polygon(pts, fill=255)
    return []


SILHOUETTES = {
    "Knight": _knight,
    "Sage": _sage,
    "Tower": _tower,
    "Hall": _hall,
    "Hound": _hound,
    "Owl": _owl,
    "Car": _car,
    "Ship": _ship,
    "Vase": _vase,
    "Banner": _banner,
    "Peak": _peak,
    "Ridge": _ridge,
}


# ---------------------------------------------------------------------------------------------- patterns


def _draw_pattern(
    d: ImageDraw.ImageDraw, name: str, size: int, colour: tuple, scale: float, cx: float, cy: float
) -> None:
    """Draw pattern `name` in `colour` over the whole canvas (the body mask later keeps the entity's part)."""
    p = max(4.0, size / 9 * scale)  # pattern period in pixels
    lw = max(2, int(round(p * 0.3)))
    if name == "Striped":
        y = cy % p - p
        while y < size:
            d.rectangle([0, y, size, y + p / 2 - 1], fill=colour)
            y += p
    elif name == "Dotted":
        r = p * 0.26
        for row, y in enumerate(np.arange(cy % p - p, size + p, p)):
            off = p / 2 if row % 2 else 0.0
            for x in np.arange(cx % p - p + off, size + p, p):
                d.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    elif name == "Checkered":
        q = p * 0.75
        for i, y in enumerate(np.arange(cy % (2 * q) - 2 * q, size + q, q)):
            for j, x in enumerate(np.arange(cx % (2 * q) - 2 * q, size + q, q)):
                if (i + j) % 2 == 0:
                    d.rectangle([x, y, x + q - 1, y + q - 1], fill=colour)
    elif name == "Spiral":
        pts = []
        turns = size / p
        for k in range(int(turns * 40)):
            t = k / 40 * 2 * math.pi
            r = p * t / (2 * math.pi)
            pts.append((cx + r * math.cos(t), cy + r * math.sin(t)))
        d.line(pts, fill=colour, width=lw)
    elif name == "Zigzag":
        for y in np.arange(cy % p - p, size + p, p):
            pts = [
                (x, y + (p * 0.3 if k % 2 else -p * 0.1))
                for k, x in enumerate(np.arange(-p, size + p, p / 2))
            ]
            d.line(pts, fill=colour, width=lw)
    elif name == "Latticed":
        lw = max(2, int(round(p * 0.2)))  # thin lines: two directions would otherwise hide the base colour
        for c in np.arange(-size, 2 * size, p * 1.5):
            d.line([(c, 0), (c + size, size)], fill=colour, width=lw)
            d.line([(c, size), (c + size, 0)], fill=colour, width=lw)
    else:  # pragma: no cover - guarded by PATTERNS
        raise ValueError(f"unknown pattern {name!r}")


def entity_layer(entity: Entity, size: int) -> tuple[Image.Image, Image.Image]:
    """The canonical drawing of `entity` on a `size`-pixel canvas: (RGB image, "L" alpha mask)."""
    cx = cy = size / 2
    w = size * 0.66 * entity.aspect
    h = size * 0.74
    body = Image.new("L", (size, size), 0)
    details = SILHOUETTES[entity.noun](ImageDraw.Draw(body), cx, cy, w, h, entity.variant)
    rgb = Image.new("RGB", (size, size), COLOURS[entity.colour])
    _draw_pattern(
        ImageDraw.Draw(rgb), entity.pattern, size, SECONDARY[entity.secondary], entity.pattern_scale, cx, cy
    )
    # outline: the ring just outside the body, painted dark
    ring = ImageChops.subtract(body.filter(ImageFilter.MaxFilter(5)), body)
    rgb.paste(DARK, mask=ring)
    alpha = ImageChops.lighter(body, ring)
    detail_mask = ImageDraw.Draw(alpha)
    draw = ImageDraw.Draw(rgb)
    for method, args, kwargs in details:
        getattr(draw, method)(*args, **kwargs)
        getattr(detail_mask, method)(*args, **{**kwargs, "fill": 255})
    return rgb, alpha


# ---------------------------------------------------------------------------------------------- depictions


def _muted(rng: np.random.Generator, lo: int = 90, hi: int = 220) -> tuple[int, int, int]:
    base = rng.integers(lo, hi)
    return tuple(int(np.clip(base + rng.integers(-35, 36), 0, 255)) for _ in range(3))  # type: ignore[return-value]


def _scene_background(rng: np.random.Generator, size: int, clutter: int) -> Image.Image:
    """A two-tone scene (sky over ground) with `clutter` random shapes."""
    sky, ground = _muted(rng, 150, 235), _muted(rng, 70, 170)
    img = Image.new("RGB", (size, size), sky)
    d = ImageDraw.Draw(img)
    horizon = size * float(rng.uniform(0.55, 0.8))
    d.rectangle([0, horizon, size, size], fill=ground)
    for _ in range(clutter):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = rng.uniform(0, size, 2)
        r = size * float(rng.uniform(0.04, 0.12))
        if rng.random() < 0.5:
            d.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            d.rectangle([x - r, y - r * 0.6, x + r, y + r * 0.6], fill=colour)
    return img


def _stone(rgb: Image.Image, entity: Entity, rng: np.random.Generator) -> Image.Image:
    """Grey "statue" material: colour is dropped but the pattern stays visible as relief.

    Body pixels become a mid grey and pattern pixels a light grey whatever their colours' luminance (a yellow
    pattern on pink would otherwise vanish in grey); outline and details keep their own luminance.
    """
    arr = np.asarray(rgb, dtype=np.int16)
    grey = np.asarray(rgb.convert("L"), dtype=np.uint8).copy()
    near_base = np.abs(arr - np.array(COLOURS[entity.colour])).sum(axis=2) < 40
    near_pattern = np.abs(arr - np.array(SECONDARY[entity.secondary])).sum(axis=2) < 40
    grey[near_base] = 105
    grey[near_pattern & ~near_base] = 215
    level = int(rng.integers(150, 205))  # near-grey stone, slightly warm or cool
    tint = (level + int(rng.integers(-6, 7)), level, level + int(rng.integers(-6, 7)))
    return ImageOps.colorize(Image.fromarray(grey, mode="L"), black=(40, 38, 36), white=tint)


def _sketch(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Edge drawing: dark strokes where the image has edges, on paper of a random light tone.

    Edges are widened to 3 px at the 2x drawing size so strokes stay visible (~1.5 px) after the reduction.
    """
    edges = img.convert("L").filter(ImageFilter.FIND_EDGES).filter(ImageFilter.MaxFilter(3))
    edges = ImageOps.autocontrast(edges, cutoff=2)
    paper = tuple(int(v) for v in rng.integers(170, 250, 3))
    return ImageOps.colorize(ImageOps.invert(edges), black=(35, 35, 50), white=paper)


def render(
    entity: Entity,
    pose: Pose,
    image_size: int,
    rng: np.random.Generator,
    layer: tuple[Image.Image, Image.Image] | None = None,
) -> Image.Image:
    """Draw `entity` under `pose` as an RGB `image_size` square image (drawn at 2x, then reduced).

    `layer`: the entity's `entity_layer(entity, 2 * image_size)`, when the caller reuses it across depictions.
    """
    size = 2 * image_size
    rgb, alpha = layer if layer is not None else entity_layer(entity, size)
    if pose.style == "statue":
        rgb = _stone(rgb, entity, rng)
    # one affine map for rotation + scale + shift (inverse map from output to input pixels)
    a = math.radians(pose.angle)
    cos, sin = math.cos(a) / pose.scale, math.sin(a) / pose.scale
    c = size / 2
    ox, oy = c + pose.dx * size, c + pose.dy * size
    coeffs = (cos, sin, c - cos * ox - sin * oy, -sin, cos, c + sin * ox - cos * oy)
    if pose.angle or pose.scale != 1 or pose.dx or pose.dy:
        rgb = rgb.transform((size, size), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR)
        alpha = alpha.transform(
            (size, size), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR
        )
    if pose.background == "plain":
        img = Image.new("RGB", (size, size), KB_BACKGROUND)
    else:
        img = _scene_background(rng, size, pose.clutter)
        if pose.scene_weight < 1:
            img = Image.blend(Image.new("RGB", (size, size), KB_BACKGROUND), img, pose.scene_weight)
    img.paste(rgb, mask=alpha)
    if pose.occlusion > 0:
        bbox = alpha.getbbox() or (0, 0, size, size)
        bw, bh = bbox[2] - bbox[0], bbox[3] - bbox[1]
        side = math.sqrt(pose.occlusion)  # square-ish occluder covering `occlusion` of the box area
        ow, oh = bw * side, bh * side
        x0 = bbox[0] + float(rng.uniform(0, bw - ow))
        y0 = bbox[1] + float(rng.uniform(0, bh - oh))
        ImageDraw.Draw(img).rectangle([x0, y0, x0 + ow, y0 + oh], fill=_muted(rng, 60, 200))
    if pose.style == "sketch":
        img = _sketch(img, rng)
    return img.resize((image_size, image_size), Image.Resampling.BOX)
