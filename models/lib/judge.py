"""Judge of generated videos of the cogvideox-mini world (numpy only, plus ffmpeg for decoding files).

``judge_frames(frames, expect)`` reads frames [T, 32, 32, 3] in [0, 1]; ``read_video`` and
``downsample`` bring an MP4 there (``ffmpeg -i FILE -f rawvideo -pix_fmt rgb24 -``, size from
ffprobe, box-downsampled to the native size); ``summarise`` gives accuracy per key over
records. The command line over MP4 files is ``python3 -m models.evaluate.judge``.

``expect`` keys (all optional): ``scene`` (shapes | sunset | snow | rain), ``shape``
(circle | square | triangle), ``color`` / ``background`` (CSS names red, orange, yellow,
green, blue, purple, white, black, gray), ``direction`` (left | right | up | down). A shape
expectation implies ``scene: shapes``.

What is measured:
* scene: Gaussian naive-Bayes over colour-layout features (fraction of flat
  background, mean colour of horizontal bands, motion energy), fitted at start-up
  on clips rendered by ``models.lib.world``;
* background: CSS colour nearest to the median of the per-pixel temporal median;
* object colour: CSS colour (other than the background) nearest to the median of
  the pixels farthest from the background;
* shape: per frame, soft object mask (projection between background and object
  colour), re-centred on the torus, silhouette = mask > 0.5; fill ratio
  area / (width x height) of the silhouette (circle 0.79, square 1, split at
  0.89 half-way between the ideal 0.785 and 1; triangle
  0.5) and the share of its area in the upper half (triangle 0.25); majority
  vote over frames;
* direction: per-frame circular centroid, summed wrapped displacements; dominant
  axis and sign;
* coherence: share of frames agreeing with the voted shape, coefficient of
  variation of the object area, share of frame steps moving the voted way.
"""

import subprocess

import numpy as np

from models.lib import world
from models.lib.world import COLORS as CSS  # the renderer's exact CSS values

NAMES = list(CSS)
CSS_RGB = np.array([CSS[n] for n in NAMES], dtype=np.float32) / 255.0
SCENE_CLASSES = ["shapes", "sunset", "snow", "rain"]
KEYS = ["scene", "background", "color", "shape", "direction"]


# ------------------------------------------------------------------ decoding


def probe_size(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", path],
        check=True, capture_output=True, text=True,
    ).stdout.strip().split("\n")[0]
    w, h = [int(v) for v in out.split(",")[:2]]
    return w, h


def read_video(path):
    """All frames as uint8 [T, H, W, 3]."""
    w, h = probe_size(path)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    n = len(raw) // (w * h * 3)
    return np.frombuffer(raw[: n * w * h * 3], dtype=np.uint8).reshape(n, h, w, 3)


def downsample(frames, native=32):
    """Box filter to [T, native, native, 3] float32 in [0, 1]."""
    x = frames.astype(np.float32) / 255.0
    t, h, w, _ = x.shape
    if h % native == 0 and w % native == 0:
        return x.reshape(t, native, h // native, native, w // native, 3).mean(axis=(2, 4))
    ys = (np.arange(h) * native // h)
    xs = (np.arange(w) * native // w)
    out = np.zeros((t, native, native, 3), np.float32)
    cnt = np.zeros((native, native, 1), np.float32)
    np.add.at(out, (slice(None), ys[:, None], xs[None, :]), x)
    np.add.at(cnt, (ys[:, None], xs[None, :]), 1.0)
    return out / cnt


# ------------------------------------------------------------------ colours


def nearest_css(rgb, exclude=None):
    d = np.linalg.norm(CSS_RGB - np.asarray(rgb, np.float32)[None], axis=1)
    if exclude is not None:
        d[NAMES.index(exclude)] = np.inf
    return NAMES[int(np.argmin(d))]


def background(frames):
    med = np.median(frames, axis=0)  # per-pixel temporal median
    bg = np.median(med.reshape(-1, 3), axis=0)
    return nearest_css(bg), bg, med


# ------------------------------------------------------------------ scene features


def scene_features(frames):
    t, h, w, _ = frames.shape
    name, bg, med = background(frames)
    ref = CSS_RGB[NAMES.index(name)]
    flat = float((np.linalg.norm(med - ref[None, None], axis=-1) < 0.15).mean())
    bands = [frames[:, int(h * a): int(h * b)].mean(axis=(0, 1, 2)) for a, b in ((0, 0.3), (0.3, 0.6), (0.6, 0.8), (0.8, 1.0))]
    motion = float(np.abs(np.diff(frames, axis=0)).mean()) if t > 1 else 0.0
    spatial = float(np.abs(np.diff(med, axis=1)).mean())
    return np.concatenate([[flat, motion * 10, spatial * 5], np.concatenate(bands)]).astype(np.float64)


_MODEL = {}


def scene_model():
    if "m" in _MODEL:
        return _MODEL["m"]
    rng = np.random.RandomState(321)
    feats = {c: [] for c in SCENE_CLASSES}
    for i in range(48):
        feats["shapes"].append(scene_features(world.render(world.sample_shape_spec(rng, "train"), 13, int(rng.randint(0, 60)))))
        for sc in world.SCENES:
            feats[sc].append(scene_features(world.render(world.sample_scene_spec(rng, sc), 13, int(rng.randint(0, 60)))))
    m = {}
    for c, fs in feats.items():
        a = np.stack(fs)
        m[c] = (a.mean(0), a.std(0) + 0.05)
    _MODEL["m"] = m
    return m


def classify_scene(frames):
    f = scene_features(frames)
    m = scene_model()
    ll = {c: float(-0.5 * (((f - mu) / sd) ** 2).sum() - np.log(sd).sum()) for c, (mu, sd) in m.items()}
    return max(ll, key=ll.get)


# ------------------------------------------------------------------ shape clips


def object_colour(frames, bg):
    d = np.linalg.norm(frames - bg[None, None, None], axis=-1)
    thr = max(0.15, 0.6 * float(np.percentile(d, 99.5)))
    px = frames[d >= thr]
    if len(px) < 4:
        return None, None
    obj = np.median(px, axis=0)
    return obj, px


def classify_frame_shape(alpha):
    """alpha [H, W] soft mask already centred; returns (shape, fill, top_share, area).

    The silhouette is the mask thresholded at 0.5 (half-way between background
    and object colour), so soft edges do not change the measure much.
    """
    area = float(alpha.sum())
    m = alpha > 0.5
    n = float(m.sum())
    if n < 6:
        return None, 0.0, 0.0, area
    cols = np.where(m.any(axis=0))[0]
    rows_i = np.where(m.any(axis=1))[0]
    w, h = float(cols[-1] - cols[0] + 1), float(rows_i[-1] - rows_i[0] + 1)
    fill = n / max(w * h, 1e-6)
    rows = m.sum(axis=1).astype(np.float64)
    mid = (rows_i[0] + rows_i[-1] + 1) / 2.0
    ys = np.arange(len(rows)) + 0.5
    top = float(rows[ys < mid].sum() + 0.5 * rows[np.abs(ys - mid) < 0.01].sum()) / n
    if fill < 0.66 or top < 0.36:
        s = "triangle"
    elif fill > 0.89:
        s = "square"
    else:
        s = "circle"
    return s, fill, top, area


def _circ_mean(weights, axis_len):
    ang = 2 * np.pi * (np.arange(axis_len) + 0.5) / axis_len
    c, s = (weights * np.cos(ang)).sum(), (weights * np.sin(ang)).sum()
    return (np.arctan2(s, c) % (2 * np.pi)) * axis_len / (2 * np.pi) - 0.5


def analyse_shapes(frames, bg_name, bg):
    t, h, w, _ = frames.shape
    obj, _ = object_colour(frames, bg)
    if obj is None:
        return {"color": None, "shape": None, "direction": None}, {}
    color = nearest_css(obj, exclude=bg_name)
    diff = obj - bg
    alpha = np.clip(((frames - bg[None, None, None]) @ diff) / max(float(diff @ diff), 1e-6), 0.0, 1.0)  # T, H, W
    shapes, fills, tops, areas, cxs, cys = [], [], [], [], [], []
    for i in range(t):
        a = alpha[i]
        m = a.sum()
        if m < 6:
            shapes.append(None)
            areas.append(float(m))
            cxs.append(np.nan)
            cys.append(np.nan)
            continue
        cx = _circ_mean(a.sum(axis=0), w)
        cy = _circ_mean(a.sum(axis=1), h)
        cxs.append(cx)
        cys.append(cy)
        centred = np.roll(np.roll(a, int(round(w / 2 - 0.5 - cx)), axis=1), int(round(h / 2 - 0.5 - cy)), axis=0)
        s, fill, top, area = classify_frame_shape(centred)
        shapes.append(s)
        fills.append(fill)
        tops.append(top)
        areas.append(area)
    votes = [s for s in shapes if s]
    shape = max(set(votes), key=votes.count) if votes else None
    # direction from wrapped centroid displacements
    cxs, cys = np.array(cxs), np.array(cys)
    dx = (np.diff(cxs) + w / 2) % w - w / 2
    dy = (np.diff(cys) + h / 2) % h - h / 2
    ok = np.isfinite(dx) & np.isfinite(dy)
    sx, sy = float(dx[ok].sum()), float(dy[ok].sum())
    if not ok.any() or max(abs(sx), abs(sy)) < 1.0:
        direction = "none"
        dir_share = 0.0
    else:
        if abs(sx) >= abs(sy):
            direction = "right" if sx > 0 else "left"
            steps = np.sign(dx[ok]) == np.sign(sx)
        else:
            direction = "down" if sy > 0 else "up"
            steps = np.sign(dy[ok]) == np.sign(sy)
        dir_share = float(steps.mean())
    areas = np.array(areas)
    metrics = {
        "shape_consistency": round(float(votes.count(shape)) / max(len(shapes), 1), 3) if shape else 0.0,
        "area_cv": round(float(areas.std() / max(areas.mean(), 1e-6)), 3),
        "direction_consistency": round(dir_share, 3),
        "mean_fill": round(float(np.mean(fills)), 3) if fills else None,
        "mean_top_share": round(float(np.mean(tops)), 3) if tops else None,
        "speed_px_per_frame": round(float(np.hypot(sx, sy) / max(ok.sum(), 1)), 3),
    }
    return {"color": color, "shape": shape, "direction": direction}, metrics


# ------------------------------------------------------------------ API


def judge_frames(frames, expect=None):
    """frames: float [T, H, W, 3] in [0, 1] at native size; returns the per-video record."""
    expect = dict(expect or {})
    if "shape" in expect or "color" in expect or "direction" in expect:
        expect.setdefault("scene", "shapes")
    frames = np.asarray(frames, np.float32)
    scene = classify_scene(frames)
    bg_name, bg, _ = background(frames)
    pred = {"scene": scene, "background": bg_name}
    metrics = {}
    if scene == "shapes" or expect.get("scene") == "shapes":
        p, metrics = analyse_shapes(frames, bg_name, bg)
        pred.update(p)
    correct = {k: pred.get(k) == v for k, v in expect.items() if k in KEYS}
    return {"pred": pred, "expect": expect, "correct": correct, "metrics": metrics, "frames": int(frames.shape[0])}


def summarise(records):
    out = {}
    for k in KEYS:
        vals = [r["correct"][k] for r in records if k in r["correct"]]
        if vals:
            out[k] = {"accuracy": round(sum(vals) / len(vals), 4), "n": len(vals)}
    coh = [r["metrics"]["shape_consistency"] for r in records if r.get("metrics", {}).get("shape_consistency") is not None]
    if coh:
        out["shape_consistency_mean"] = round(float(np.mean(coh)), 4)
    # Per expected shape: where shape accuracy is lost, and the mean fill ratio the split at 0.89 reads.
    by_shape = {}
    for r in records:
        s = r["expect"].get("shape") if "shape" in r["correct"] else None
        if s:
            by_shape.setdefault(s, []).append(r)
    if by_shape:
        out["shape_by_expected"] = {
            s: {
                "accuracy": round(sum(r["correct"]["shape"] for r in rs) / len(rs), 4),
                "n": len(rs),
                "mean_fill": round(float(np.mean([r["metrics"].get("mean_fill") or 0.0 for r in rs])), 3),
            }
            for s, rs in sorted(by_shape.items())
        }
    return out

