"""The digits demo: the VAE as a generative model on scikit-learn's 8x8 digits.

``latentwatch demo digits`` trains a VAE with a 2-D latent space on the 1,797 digits
of ``sklearn.datasets.load_digits`` and writes four pictures: generated digits, an
interpolation from a 1 to a 7, the latent map coloured by class, and an anomaly
example (a second VAE trained on the digits 0-4 scores the digits 5-9).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.console import Console
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.svm import SVC

from latentwatch.detector import VAEDetector

PIXEL_MAX = 16.0
IMAGE_SHAPE = (8, 8)
NORMAL_CLASSES = (0, 1, 2, 3, 4)

# The 2-D VAE: wider hidden layers than the default for 64 pixels, and a fixed budget of
# epochs with lenient early stopping (the validation loss of a 2-D model is noisy). Batches
# of 64 rows at learning rate 3e-3: the recipe the pictures and figures in docs/generation.md were
# made with (the package defaults take bigger steps since then).
_RECIPE = {"hidden_dims": [256, 128], "batch_size": 64, "learning_rate": 3e-3}
DIGITS_VAE = {**_RECIPE, "latent_dim": 2, "max_epochs": 150, "patience": 30}
# The anomaly VAE: default latent size (8 for 64 pixels).
ANOMALY_VAE = {**_RECIPE, "max_epochs": 100, "patience": 20}


def dequantized_digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The digits with centred uniform noise added to the integer pixel values.

    A continuous density fitted to integers can put arbitrarily narrow peaks on them
    (the decoder's variance hits its floor on the many pixels that are exactly 0) and
    then learns little about shapes; ``x + u`` with ``u ~ U(-1/2, 1/2)`` is the usual
    remedy ("dequantisation") and keeps the pixel means.

    Returns
    -------
    X : np.ndarray of shape (1797, 64)
        Dequantised pixels (about 0 to 16).
    X_raw : np.ndarray of shape (1797, 64)
        The integer pixels.
    y : np.ndarray of shape (1797,)
        The digit classes.
    """
    X_raw, y = load_digits(return_X_y=True)
    noise = np.random.default_rng(seed).uniform(-0.5, 0.5, size=X_raw.shape)
    return X_raw + noise, X_raw, y


def typical_row(codes: np.ndarray, y: np.ndarray, label: int, k: int = 20) -> int:
    """Index of a typical row of class ``label``, chosen by rule, not by hand.

    A class can occupy several regions of the latent space (the 1s do), so its median
    code may fall among other classes. The row chosen is the one of the class with the
    most same-class rows among its ``k`` nearest neighbours in latent space (the
    densest, purest part of the class); ties go to the row nearest the class median.
    """
    from sklearn.neighbors import NearestNeighbors

    rows = np.flatnonzero(y == label)
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(codes)
    _, index = neighbours.kneighbors(codes[rows])
    purity = (y[index[:, 1:]] == label).sum(axis=1)
    distance = np.linalg.norm(codes[rows] - np.median(codes[rows], axis=0), axis=1)
    return int(rows[np.lexsort((distance, -purity))[0]])


def _show(ax, image: np.ndarray, title: str | None = None) -> None:
    ax.imshow(np.clip(image, 0, PIXEL_MAX).reshape(IMAGE_SHAPE), cmap="gray_r",
              vmin=0, vmax=PIXEL_MAX, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=8)


def _grid_figure(images: np.ndarray, columns: int, title: str):
    import matplotlib.pyplot as plt

    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.6, rows * 0.6 + 0.4))
    for ax, image in zip(np.ravel(axes), images, strict=False):
        _show(ax, image)
    for ax in np.ravel(axes)[len(images):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.2, rect=(0, 0, 1, 0.95))
    return fig


def run_digits_demo(
    out_dir: str | Path = "latentwatch-digits", seed: int = 0, console: Console | None = None,
    *, max_epochs: int | None = None,
) -> dict[str, object]:
    """Train the digits VAEs, write the four pictures into ``out_dir`` and print figures.

    ``max_epochs`` overrides the recipes' epoch budgets (:data:`DIGITS_VAE`,
    :data:`ANOMALY_VAE`), e.g. for a quick smoke run.

    Returns
    -------
    dict
        ``auc_roc`` (digits 5-9 as anomalies to a VAE trained on 0-4),
        ``strip_labels`` (a real-digits classifier's reading of the interpolation),
        ``endpoints_ok`` (whether it reads the end points as a 1 and a 7),
        ``denoise_accuracy`` (that classifier's accuracy on decoded digits),
        ``seconds`` and ``files`` (the PNG paths).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    console = console or Console()
    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    X, X_raw, y = dequantized_digits(seed)
    console.print(f"Digits (scikit-learn): {len(X)} images of 8x8 pixels; training a VAE with "
                  "a 2-D latent space...")
    budget = {} if max_epochs is None else {"max_epochs": max_epochs}
    vae = VAEDetector(random_state=seed, **{**DIGITS_VAE, **budget}).fit(X)
    reader = SVC().fit(X_raw, y)  # a classifier trained on the real digits
    codes = vae.encode(X)
    denoise_accuracy = float(np.mean(reader.predict(vae.denoise(X)) == y))
    files = []

    # 1. generated digits
    generated = vae.sample(100, random_state=seed, source="prior", decode="mean")
    fig = _grid_figure(generated, 10, "100 digits sampled from the prior N(0, I)")
    files.append(out_dir / "digits_generated.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    # 2. from a 1 to a 7
    one, seven = typical_row(codes, y, 1), typical_row(codes, y, 7)
    strips = {path: vae.interpolate(X[one], X[seven], steps=10, path=path, return_latent=True)
              for path in ("linear", "spherical")}
    strip_labels = [int(v) for v in reader.predict(strips["linear"][0])]
    fig, axes = plt.subplots(2, 10, figsize=(7.5, 2.4))
    for row, (path, (images, _)) in enumerate(strips.items()):
        for ax, image, label in zip(axes[row], images, reader.predict(images), strict=True):
            _show(ax, image, f"reads {label}")
        axes[row, 0].set_ylabel(path, fontsize=8)
    fig.suptitle("From a 1 to a 7: decoded points on the latent path "
                 "(titles: a classifier trained on real digits)", fontsize=8)
    fig.tight_layout(pad=0.2, rect=(0, 0, 1, 0.92))
    files.append(out_dir / "digits_interpolation.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    # 3. the latent map
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    scatter = ax.scatter(codes[:, 0], codes[:, 1], c=y, cmap="tab10", s=5, alpha=0.7)
    for label in range(10):
        cx, cy = np.median(codes[y == label], axis=0)
        ax.text(cx, cy, str(label), fontsize=13, weight="bold", ha="center", va="center",
                bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "alpha": 0.8})
    for path, style in (("linear", "k-"), ("spherical", "k:")):
        z = strips[path][1]
        ax.plot(z[:, 0], z[:, 1], style, lw=1.2, label=f"1 -> 7, {path}")
    ax.plot(*strips["linear"][1][[0, -1]].T, "ko", ms=4)
    ax.legend(loc="lower right", fontsize=7)
    fig.colorbar(scatter, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel("z1 (posterior mean)")
    ax.set_ylabel("z2")
    ax.set_title("The 2-D latent space of the digits VAE", fontsize=10)
    fig.tight_layout()
    files.append(out_dir / "digits_latent_map.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    # 4. anomalies: trained on 0-4, the digits 5-9 are new
    rng = np.random.default_rng(seed)
    normal = np.flatnonzero(np.isin(y, NORMAL_CLASSES))
    train = np.sort(rng.choice(normal, size=int(0.7 * len(normal)), replace=False))
    test = np.setdiff1d(np.arange(len(y)), train)
    is_new = ~np.isin(y[test], NORMAL_CLASSES)
    detector = VAEDetector(random_state=seed, **{**ANOMALY_VAE, **budget}).fit(X[train])
    scores = detector.anomaly_score(X[test])
    auc = float(roc_auc_score(is_new, scores))
    fig = plt.figure(figsize=(7.5, 3.6))
    ax = fig.add_axes((0.1, 0.14, 0.4, 0.74))
    bins = np.histogram_bin_edges(scores, bins=40)
    ax.hist(scores[~is_new], bins=bins, alpha=0.6, label="held-out 0-4 (normal)")
    ax.hist(scores[is_new], bins=bins, alpha=0.6, label="5-9 (never seen)")
    ax.set_xlabel("anomaly score (reconstruction probability)")
    ax.set_ylabel("images")
    ax.legend(fontsize=7)
    ax.set_title(f"Trained on 0-4: AUC-ROC {auc:.3f}", fontsize=9)
    order = np.argsort(scores)
    for r, (rows, name) in enumerate(((order[::-1][:5], "most anomalous"),
                                      (order[:5], "most normal"))):
        for c, i in enumerate(rows):
            sub = fig.add_axes((0.56 + c * 0.086, 0.5 - r * 0.42, 0.08, 0.3))
            _show(sub, X_raw[test[i]], f"{y[test[i]]}" if c else f"{name}\n{y[test[i]]}")
    files.append(out_dir / "digits_anomalies.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)

    seconds = time.perf_counter() - start
    endpoints_ok = strip_labels[0] == 1 and strip_labels[-1] == 7
    console.print(f"2-D VAE: {vae.n_epochs_} epochs; a classifier trained on real digits "
                  f"recognises {denoise_accuracy:.0%} of the decoded (denoised) digits.")
    console.print(f"Interpolation 1 -> 7 reads as: {' '.join(map(str, strip_labels))}")
    console.print(f"Anomalies: VAE trained on digits 0-4 scores unseen 5-9 with "
                  f"AUC-ROC {auc:.3f} ({is_new.sum()} new vs {(~is_new).sum()} held-out).")
    for path in files:
        console.print(f"wrote {path}")
    console.print(f"done in {seconds:.0f} s")
    return {"auc_roc": auc, "strip_labels": strip_labels, "endpoints_ok": endpoints_ok,
            "denoise_accuracy": denoise_accuracy, "seconds": seconds, "files": files}
