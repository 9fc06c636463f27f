"""The PNG chart: per family, each implementation's time relative to PyTorch CPU (or NumPy
when PyTorch is absent): the bar is the interleaved median ratio of the table, the whiskers
the row's min and max time over the reference's median; log axis, 1× marked."""

from __future__ import annotations

from pathlib import Path

REF_ORDER = ("torch:cpu", "numpy")


def _reference(rows: list[dict]) -> dict | None:
    by_impl = {r["impl"]: r for r in rows if r["status"] == "ok"}
    return next((by_impl[i] for i in REF_ORDER if i in by_impl), None)


def _series(res: dict) -> dict[str, list[tuple[str, float, float, float, str]]]:
    """family -> [(label, rel median, rel min, rel max, reference impl)]."""
    cases: dict[tuple[str, str], list[dict]] = {}
    for r in res["rows"]:
        cases.setdefault((r["family"], r["case"]), []).append(r)
    out: dict[str, list] = {}
    for (family, case), rows in cases.items():
        ref = _reference(rows)
        if ref is None:
            continue
        base = ref["median_s"]
        field = "vs_torch" if ref["impl"] == "torch:cpu" else "vs_numpy"
        for r in rows:
            if r["status"] == "ok":  # the bar is the interleaved ratio, as in the table
                mid = 1.0 if r is ref else (r.get(field) or r["median_s"] / base)
                out.setdefault(family, []).append(
                    (f"{case} | {r['impl']}", mid, min(mid, r["min_s"] / base),
                     max(mid, r["max_s"] / base), ref["impl"]))
    return out


def _minor(v: float, _pos: object) -> str:
    """Label the 2 and 5 minor ticks, so a panel spanning less than a decade has labels."""
    text = f"{v:g}"
    return f"{text}×" if text.lstrip("0.")[:1] in ("2", "5") else ""


def plot(res: dict, path: Path) -> Path | None:
    """Draw the chart; ``None`` (and a note in ``res``) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        res.setdefault("notes", []).append("matplotlib not installed: no chart drawn")
        return None
    series = _series(res)
    if not series:
        return None
    heights = [max(1.2, 0.32 * len(s) + 0.8) for s in series.values()]
    fig, axes = plt.subplots(len(series), 1, figsize=(12, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights}, layout="constrained")
    for ax, (family, items) in zip(axes[:, 0], series.items()):
        labels = [i[0] for i in items]
        mid = [i[1] for i in items]
        err = [[m - i[2] for m, i in zip(mid, items)], [i[3] - m for m, i in zip(mid, items)]]
        colors = ["tab:orange" if "mbtorch" in lab else "tab:gray" for lab in labels]
        ax.barh(range(len(items)), mid, xerr=err, color=colors, capsize=2)
        ax.set_yticks(range(len(items)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.xaxis.set_minor_formatter(FuncFormatter(_minor))
        ax.axvline(1.0, color="black", linewidth=0.8)
        refs = sorted({i[4] for i in items})
        ax.set_title(f"{family}: time ÷ {' or '.join(refs)} (lower is faster)", fontsize=9)
    fig.suptitle(f"mbtorch benchmarks — {res['machine']['cpu']}, {res['created']}", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
