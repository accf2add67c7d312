"""Procedural clip world of cogvideox-mini: seeded numpy renderer and caption generator.

Clips are float32 arrays [T, H, W, 3] in [0, 1] (native 32x32). Two kinds of
spec (plain dicts, JSON-serialisable):

* shape clips: ``{"kind": "shape", "shape", "color", "background", "direction",
  "extent", "span_frac", "offset", "cross"}``. A circle, square or triangle
  (pointing up) of one CSS named colour on a flat background of another, moving
  left / right / up / down at a constant speed: whatever the clip length, the
  object crosses the frame once, from the side opposite its motion to the side
  it moves towards (``span_frac`` of the free run, shifted by ``offset`` pixels
  along the axis; ``cross`` is its position across the axis, within
  ``CROSS_RANGE`` of the middle), never faster than ``MAX_SPEED`` pixels per
  frame. So where the object is in a frame follows from the caption and from
  how far through the clip the frame is, the way a viewer reads "moving left":
  the average clips of "moving left" and "moving right" differ, which is what
  lets the denoiser learn the sign of motion at its noisiest timesteps, where
  only the caption can place the object.
* scene clips: ``{"kind": "scene", "scene": "sunset" | "snow" | "rain", "seed"}``:
  sunset over the ocean with birds crossing, snow falling at night over a snowy
  field, rain over a city skyline.

``render(spec, n_frames, start=0)`` renders frames start .. start+n-1 of a
clip of start+n frames. Edges are anti-aliased from signed
distances (one evaluation per pixel).

Captions: ``caption(spec, rng, split)`` draws a phrasing; templates, direction
phrases and (shape, colour, background) triples are split into train and
held-out sets (``split="train"`` / ``"eval"``).
"""

import re

import numpy as np

SIZE = 32

COLORS = {
    "red": (255, 0, 0),
    "orange": (255, 165, 0),
    "yellow": (255, 255, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "purple": (128, 0, 128),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
}
COLOR_NAMES = list(COLORS)
SHAPES = ["circle", "square", "triangle"]
DIRECTIONS = ["left", "right", "up", "down"]
SCENES = ["sunset", "snow", "rain"]
DIR_VEC = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}
EXTENTS = {"small": 10.0, "medium": 12.0, "large": 14.0}
MAX_SPEED = 1.4  # pixels per frame at native size: at most 1.4 latent pixels per latent frame
SPAN_FRAC = (0.8, 1.0)  # share of the free run (frame size minus the object) an object crosses
CROSS_RANGE = 8.0  # the object's path runs within +-8 px of the middle, across its motion axis


def free_run(extent):
    """Room the centre of an object of this extent has along an axis (1.5 px margin each side)."""
    return SIZE - extent - 3.0


def rgb01(name):
    return np.array(COLORS[name], dtype=np.float32) / 255.0


# ------------------------------------------------------------------ held-out split


def _all_triples():
    return [(s, c, b) for s in SHAPES for c in COLOR_NAMES for b in COLOR_NAMES if c != b]


def heldout_triples():
    """A fixed ~11 % of (shape, colour, background) triples never seen in training."""
    rng = np.random.RandomState(1234)
    triples = _all_triples()
    idx = rng.permutation(len(triples))[:24]
    return sorted(triples[i] for i in idx)


HELDOUT = set(heldout_triples())


# ------------------------------------------------------------------ specs


def sample_shape_spec(rng, split="train", shape=None, color=None, background=None, direction=None):
    while True:
        s = shape or SHAPES[rng.randint(3)]
        c = color or COLOR_NAMES[rng.randint(9)]
        b = background or COLOR_NAMES[rng.randint(9)]
        if c == b:
            if color and background:
                raise ValueError("object and background colour must differ")
            continue
        held = (s, c, b) in HELDOUT
        if split == "train" and held and not (shape and color and background):
            continue
        if split == "eval" and not held and not (shape and color and background):
            continue
        break
    d = direction or DIRECTIONS[rng.randint(4)]
    size_word = ["small", "medium", "medium", "large"][rng.randint(4)]
    ext = EXTENTS[size_word] + rng.uniform(-0.5, 0.5)
    span_frac = float(rng.uniform(*SPAN_FRAC))
    free = free_run(ext)
    return {
        "kind": "shape",
        "shape": s,
        "color": c,
        "background": b,
        "direction": d,
        "size": size_word,
        "extent": float(ext),
        "span_frac": span_frac,
        "offset": float(rng.uniform(-1, 1) * free * (1 - span_frac) / 2),
        "cross": float(SIZE / 2 + rng.uniform(-CROSS_RANGE, CROSS_RANGE)),
    }


def sample_scene_spec(rng, scene=None):
    return {"kind": "scene", "scene": scene or SCENES[rng.randint(3)], "seed": int(rng.randint(1 << 30))}


def sample_spec(rng, split="train", scene_prob=0.2):
    if rng.rand() < scene_prob:
        return sample_scene_spec(rng)
    return sample_shape_spec(rng, split)


# ------------------------------------------------------------------ rendering


def _grid(n=SIZE):
    c = np.arange(n, dtype=np.float32) + 0.5
    return np.meshgrid(c, c, indexing="xy")  # X, Y  [H, W]


_X, _Y = _grid()


def _wrap(d):
    return (d + SIZE / 2) % SIZE - SIZE / 2


def _coverage(sdf):
    return np.clip(0.5 - sdf, 0.0, 1.0)


def shape_sdf(shape, dx, dy, ext):
    """Signed distance (pixels, approx. for the triangle) of a shape centred at 0."""
    if shape == "circle":
        return np.sqrt(dx * dx + dy * dy) - ext / 2
    if shape == "square":
        a = ext * 0.44
        qx, qy = np.abs(dx) - a, np.abs(dy) - a
        out = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
        return out + np.minimum(np.maximum(qx, qy), 0.0)
    if shape == "triangle":
        # Isosceles, pointing up: apex (0, -h/2), base y = h/2 with half width w/2.
        h, w = ext * 1.0, ext * 1.1
        base = dy - h / 2
        n = np.array([h, w / 2], dtype=np.float32)
        n = n / np.linalg.norm(n)
        # distance to the slanted side through the apex, outward normal (n0, -n1)
        side = np.abs(dx) * n[0] - (dy + h / 2) * n[1]
        return np.maximum(base, side)
    raise ValueError(shape)


def shape_track(spec, n_frames):
    """Centre (x, y) of the object in each frame of a clip of n_frames: [n_frames, 2]."""
    vx, vy = DIR_VEC[spec["direction"]]
    span = min(free_run(spec["extent"]) * spec["span_frac"], MAX_SPEED * max(n_frames - 1, 0))
    tau = np.arange(n_frames, dtype=np.float32) / max(n_frames - 1, 1) - 0.5  # -0.5 .. 0.5 through the clip
    along = SIZE / 2 + spec["offset"] + span * tau
    if vx != 0:
        cx = along if vx > 0 else SIZE - along
        cy = np.full_like(tau, spec["cross"])
    else:
        cy = along if vy > 0 else SIZE - along
        cx = np.full_like(tau, spec["cross"])
    return np.stack([cx, cy], axis=1)


def render_shape(spec, frames):
    frames = np.asarray(frames)
    track = shape_track(spec, int(frames[-1]) + 1)[frames]
    cx, cy = track[:, 0], track[:, 1]
    bg = rgb01(spec["background"])
    fg = rgb01(spec["color"])
    out = np.empty((len(frames), SIZE, SIZE, 3), dtype=np.float32)
    for i in range(len(frames)):
        dx = _X - cx[i]
        dy = _Y - cy[i]
        a = _coverage(shape_sdf(spec["shape"], dx, dy, spec["extent"]))[..., None]
        out[i] = bg * (1 - a) + fg * a
    return out


def _lerp(c0, c1, a):
    return np.asarray(c0, np.float32)[None] * (1 - a[..., None]) + np.asarray(c1, np.float32)[None] * a[..., None]


def render_sunset(spec, frames):
    rng = np.random.RandomState(spec["seed"])
    horizon = rng.uniform(18.0, 22.0)
    sun_x = rng.uniform(7.0, 25.0)
    sun_r = rng.uniform(3.0, 4.2)
    sun_y = horizon - rng.uniform(0.0, 2.5)
    n_birds = rng.randint(2, 5)
    bdir = 1.0 if rng.rand() < 0.5 else -1.0
    birds = [(rng.uniform(0, SIZE), rng.uniform(3.0, horizon - 7.0), rng.uniform(0.35, 0.7)) for _ in range(n_birds)]
    top = np.array([0.25, 0.12, 0.45]) + rng.uniform(-0.05, 0.05, 3)
    mid = np.array([0.95, 0.45, 0.15]) + rng.uniform(-0.05, 0.05, 3)
    low = np.array([1.0, 0.8, 0.3]) + rng.uniform(-0.05, 0.0, 3)
    Y = _Y
    ty = np.clip(Y / horizon, 0, 1)
    sky = np.where((ty < 0.55)[..., None], _lerp(top, mid, np.clip(ty / 0.55, 0, 1)), _lerp(mid, low, np.clip((ty - 0.55) / 0.45, 0, 1)))
    water_t = np.clip((Y - horizon) / (SIZE - horizon), 0, 1)
    water = _lerp([0.1, 0.2, 0.45], [0.02, 0.06, 0.2], water_t)
    base = np.where((Y < horizon)[..., None], sky, water).astype(np.float32)
    sun_a = _coverage(np.sqrt((_X - sun_x) ** 2 + (Y - sun_y) ** 2) - sun_r) * (Y < horizon)
    base = base * (1 - sun_a[..., None]) + np.array([1.0, 0.92, 0.55], np.float32) * sun_a[..., None]
    out = np.empty((len(frames), SIZE, SIZE, 3), dtype=np.float32)
    for i, f in enumerate(frames):
        img = base.copy()
        # shimmering reflection of the sun below the horizon
        ph = 0.6 * f
        refl = (Y >= horizon) & (np.abs(_X - sun_x) < sun_r * (1.1 - 0.5 * water_t)) & (np.sin(Y * 2.1 + ph) > -0.2)
        img[refl] = img[refl] * 0.3 + np.array([1.0, 0.7, 0.3], np.float32) * 0.7
        for bx, by, bv in birds:
            x = (bx + bdir * bv * f) % SIZE
            flap = 0.8 * np.sin(0.9 * f + bx)
            for ox, oy in ((-1.2, -0.6 - 0.4 * flap), (0.0, 0.4), (1.2, -0.6 - 0.4 * flap)):
                d = np.sqrt(_wrap(_X - (x + ox)) ** 2 + (Y - (by + oy)) ** 2) - 0.55
                a = _coverage(d)[..., None]
                img = img * (1 - a) + np.array([0.08, 0.05, 0.08], np.float32) * a
        out[i] = img
    return out


def render_snow(spec, frames):
    rng = np.random.RandomState(spec["seed"])
    ground = rng.uniform(24.0, 27.0)
    n = rng.randint(22, 34)
    flakes = [(rng.uniform(0, SIZE), rng.uniform(0, SIZE), rng.uniform(0.25, 0.5), rng.uniform(0, 6.28), rng.uniform(0.45, 0.75)) for _ in range(n)]
    moon = rng.rand() < 0.6
    mx, my = rng.uniform(5, 27), rng.uniform(4, 10)
    Y = _Y
    sky = _lerp([0.02, 0.03, 0.12], [0.08, 0.12, 0.3], np.clip(Y / ground, 0, 1))
    base = np.where((Y < ground)[..., None], sky, _lerp([0.85, 0.88, 0.95], [0.7, 0.75, 0.85], np.clip((Y - ground) / 6, 0, 1)))
    base = base.astype(np.float32)
    if moon:
        a = _coverage(np.sqrt((_X - mx) ** 2 + (Y - my) ** 2) - 2.2)[..., None]
        base = base * (1 - a) + np.array([0.9, 0.9, 0.8], np.float32) * a
    out = np.empty((len(frames), SIZE, SIZE, 3), dtype=np.float32)
    for i, f in enumerate(frames):
        img = base.copy()
        for fx, fy, v, ph, r in flakes:
            y = (fy + v * f) % SIZE
            x = (fx + 0.8 * np.sin(0.15 * f + ph)) % SIZE
            d = np.sqrt(_wrap(_X - x) ** 2 + _wrap(Y - y) ** 2) - r
            a = _coverage(d)[..., None] * 0.95
            img = img * (1 - a) + a
        out[i] = img
    return out


def render_rain(spec, frames):
    rng = np.random.RandomState(spec["seed"])
    Y, X = _Y, _X
    sky = _lerp([0.22, 0.24, 0.3], [0.4, 0.42, 0.48], np.clip(Y / 20.0, 0, 1)).astype(np.float32)
    img0 = sky.copy()
    x = 0.0
    while x < SIZE:
        w = rng.uniform(3.0, 6.0)
        top = rng.uniform(9.0, 22.0)
        shade = rng.uniform(0.06, 0.16)
        m = (X >= x) & (X < x + w) & (Y >= top)
        img0[m] = np.array([shade, shade, shade * 1.2], np.float32)
        # lit windows
        wins = m & ((np.floor(X) - np.floor(x)) % 2 == 1) & ((np.floor(Y) - np.floor(top)) % 3 == 1)
        lit = wins & (rng.rand(SIZE, SIZE) < 0.55)
        img0[lit] = np.array([0.95, 0.8, 0.35], np.float32)
        x += w + rng.uniform(0.0, 1.5)
    n = rng.randint(26, 40)
    drops = [(rng.uniform(0, SIZE), rng.uniform(0, SIZE), rng.uniform(1.6, 2.4)) for _ in range(n)]
    slant = rng.uniform(-0.35, 0.0)
    out = np.empty((len(frames), SIZE, SIZE, 3), dtype=np.float32)
    for i, f in enumerate(frames):
        img = img0.copy()
        for dx0, dy0, v in drops:
            y = (dy0 + v * f) % SIZE
            xx = (dx0 + slant * v * f) % SIZE
            # short streak along (slant, 1), length 3 px
            px = _wrap(X - xx)
            py = _wrap(Y - y)
            along = np.clip(py, -3.0, 0.0)
            d = np.sqrt((px - slant * along) ** 2 + (py - along) ** 2) - 0.45
            a = _coverage(d)[..., None] * 0.7
            img = img * (1 - a) + np.array([0.7, 0.78, 0.9], np.float32) * a
        out[i] = img
    return out


def render(spec, n_frames, start=0):
    """Frames start .. start+n_frames-1 of the clip: float32 [T, H, W, 3] in [0, 1]."""
    frames = np.arange(start, start + n_frames)
    if spec["kind"] == "shape":
        return render_shape(spec, frames)
    fn = {"sunset": render_sunset, "snow": render_snow, "rain": render_rain}[spec["scene"]]
    return np.clip(fn(spec, frames), 0.0, 1.0)


# ------------------------------------------------------------------ captions

# Direction phrases: (train, eval-only).
DIR_PHRASES = {
    "left": (
        ["moving left", "moving to the left", "drifting left", "drifting to the left", "going left", "sliding left",
         "sliding to the left", "moves left", "moving towards the left", "floating left", "left"],
        ["drifts to the left", "slowly moving left", "going to the left"],
    ),
    "right": (
        ["moving right", "moving to the right", "drifting right", "drifting to the right", "going right", "sliding right",
         "sliding to the right", "moves right", "moving towards the right", "floating right", "right"],
        ["drifts to the right", "slowly moving right", "going to the right"],
    ),
    "up": (
        ["moving up", "moving upward", "going up", "rising", "drifting up", "floating up", "sliding up", "moves up",
         "moving upwards", "rises", "up", "floating upward", "sliding upwards", "moves upward", "goes upwards", "upward",
         "upwards"],
        ["drifting upwards", "slowly rising", "going upward"],
    ),
    "down": (
        ["moving down", "moving downward", "going down", "falling", "drifting down", "sliding down", "moves down",
         "moving downwards", "falls", "sinking", "down", "floating downward", "sliding downwards", "moves downward",
         "goes downwards", "downward", "downwards"],
        ["drifting downwards", "slowly falling", "going downward"],
    ),
}

SHAPE_WORDS = {"circle": ["circle", "circle", "circle", "ball", "dot"], "square": ["square", "square", "square", "box"], "triangle": ["triangle"]}
SIZE_WORDS = {"small": ["small", "tiny", "little"], "medium": [""], "large": ["large", "big"]}
FILLER_UNKNOWN = ["", "", "", "", "lovely ", "simple ", "bright ", "solid "]

SHAPE_TEMPLATES_TRAIN = [
    "{a} {sz}{c} {s} {d} on {a} {b} background",
    "{A} {sz}{c} {s} {d} across {a} {b} backdrop.",
    "{c} {s}, {d}, {b} background",
    "{a} {f}{sz}{c} {s} {d} over {a} {b} background",
    "{A} {sz}{c} {s} {d} on {b}.",
    "{b} background, {c} {s} {d}",
    "the {c} {s} is {d} on {a} {b} background",
    "{a} {b} background with {a} {sz}{c} {s} {d}",
    "{sz}{c} {s} {d} in front of {a} {b} backdrop",
    "{A} {c} {s} {d}, {b} background.",
    "video of {a} {sz}{c} {s} {d} on a plain {b} background",
    "{c} {s} {d} against {b}",
    "on {a} {b} backdrop, {a} {sz}{c} {s} {d}",
    "a plain {b} background and {a} {c} {s} {d}",
]
SHAPE_TEMPLATES_EVAL = [
    "there is {a} {sz}{c} {s} {d} over a plain {b} backdrop",
    "{A} {c} {s} on {a} {b} background, {d}.",
    "{b} backdrop; {sz}{c} {s} {d}",
]

SCENE_CAPTIONS = {
    "sunset": (
        ["A serene sunset over the ocean with birds flying in the sky.", "a sunset over the ocean", "sunset over the sea with birds",
         "birds flying over the ocean at sunset", "the sun setting over the sea, birds in the sky", "a beautiful sunset at the beach",
         "sunset, ocean, birds", "sunset over the water with birds flying", "birds flying across the sky at sunset over the ocean",
         "an orange sunset above the sea"],
        ["a calm sunset on the ocean with a few birds", "the sun going down over the sea, birds flying by", "sunset sky above ocean waves"],
    ),
    "snow": (
        ["snow falling at night", "snowflakes falling in the night sky", "a snowy night", "snow falling on a field at night",
         "night scene with falling snow", "snow, night", "white snow falling from a dark sky", "it is snowing at night",
         "snowfall at night under the moon", "gentle snow falling at night over a white field"],
        ["a quiet winter night with snow falling", "falling snowflakes at night", "snow drifting down in the dark night"],
    ),
    "rain": (
        ["rain over a city skyline", "rain falling on the city at night", "a rainy city skyline", "rain over the buildings of a city",
         "city skyline in the rain", "rain, city, skyline", "heavy rain falling over city buildings", "a city in the rain with lights in the buildings",
         "rainy day over the city skyline", "rain drops falling in front of a city skyline"],
        ["a rainy evening over the city skyline", "rain pouring down on a city", "the city skyline during rain"],
    ),
}


ARTICLE = "\x00"  # marks an article slot in a formatted template until the next word is known


def _article(word):
    return "an" if word[:1] in "aeiou" else "a"


def caption(spec, rng, split="train"):
    pick = lambda xs: xs[rng.randint(len(xs))]  # noqa: E731
    idx = 0 if split == "train" else 1
    if spec["kind"] == "scene":
        text = pick(SCENE_CAPTIONS[spec["scene"]][idx])
    else:
        templates = SHAPE_TEMPLATES_TRAIN if split == "train" else SHAPE_TEMPLATES_EVAL
        tpl = pick(templates)
        size_word = spec.get("size", "medium")
        sz = pick(SIZE_WORDS[size_word]) if rng.rand() < 0.6 else ""
        sz = sz + " " if sz else ""
        f = pick(FILLER_UNKNOWN) if split == "train" else ""
        c = spec["color"]
        if c == "gray" and rng.rand() < 0.3:
            c = "grey"
        text = tpl.format(a=ARTICLE + "a", A=ARTICLE + "A", sz=sz, f=f, c=c, s=pick(SHAPE_WORDS[spec["shape"]]), d=pick(DIR_PHRASES[spec["direction"]][idx]), b=spec["background"])
        text = " ".join(text.split())
        # "a" or "an" by the word that follows in this template ("an orange", "a small orange")
        text = re.sub(ARTICLE + r"([aA]) (\S+)", lambda m: _article(m.group(2)).replace("a", m.group(1), 1) + " " + m.group(2), text)
    if split == "train":
        r = rng.rand()
        if r < 0.2:
            text = text.lower()
        elif r < 0.3:
            text = text.rstrip(".")
    return text


def eval_set(n_shape=36, seed=7):
    """Fixed held-out evaluation prompts: held-out triples (balanced over shapes and directions), held-out phrasings, all scenes."""
    rng = np.random.RandomState(seed)
    items = []
    by_shape = {sh: [t for t in heldout_triples() if t[0] == sh] for sh in SHAPES}
    for i in range(n_shape):
        k = i // len(SHAPES)
        s, c, b = by_shape[SHAPES[i % len(SHAPES)]][k % len(by_shape[SHAPES[i % len(SHAPES)]])]
        d = DIRECTIONS[k % 4]
        spec = sample_shape_spec(rng, "eval", shape=s, color=c, background=b, direction=d)
        items.append({"prompt": caption(spec, rng, "eval"), "expect": {"shape": s, "color": c, "background": b, "direction": d, "scene": "shapes"}})
    for sc in SCENES:
        for text in SCENE_CAPTIONS[sc][1]:
            items.append({"prompt": text, "expect": {"scene": sc}})
    items.append({"prompt": "A serene sunset over the ocean with birds flying in the sky.", "expect": {"scene": "sunset"}})
    return items


if __name__ == "__main__":
    r = np.random.RandomState(0)
    for _ in range(12):
        sp = sample_spec(r)
        print(caption(sp, r))
    for it in eval_set()[:6]:
        print(it)
