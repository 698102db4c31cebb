"""Benchmark of camera-frame decoding (hardware/decoding.py) on generated, distorted 1280x720 frames.

    .venv/bin/python bench/decode_frames.py [--seeds N] [--rounds R] [--decoders zxing-cpp,pyzbar,opencv]

Builds frames holding Code 128, EAN-13, QR, GS1-128 and GS1 Data Matrix (hardware/synthetic.py), each
clean and under five distortions (rotation incl. sideways/upside down, blur, perspective, low
contrast, sensor noise), plus frames with no code, encodes them as JPEG the way a handheld browser
uploads them, and for every available decoder reports milliseconds per frame (p50/p95) and the read
rate (the expected text, and for decoders that can tell, the expected wedge string with its AIM
identifier) per distortion, per symbol and overall. The baseline measured in the same run is
``cv2.imdecode`` of the same JPEG: the unavoidable cost of getting pixels at all.

Targets for the default decoder: <= 5 ms per frame (p50, decoding only) and >= 95 % read rate.
This reports; it does not fail on a miss. Exit status 0, or 2 when no decoder can run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hardware import decoding, synthetic  # noqa: E402

TARGET_MS = 5.0
TARGET_READ_RATE = 0.95


@dataclass(frozen=True)
class Frame:
    symbol: synthetic.Symbol | None
    distortion: str
    jpeg: bytes
    gray: np.ndarray


def build_frames(seeds: int) -> list[Frame]:
    frames = []
    for seed in range(seeds):
        for index, distortion in enumerate(synthetic.DISTORTIONS):
            for symbol in (*synthetic.SYMBOLS, None):
                image = synthetic.frame(symbol, distortion, seed=1000 * seed + index)
                jpeg = synthetic.encode(image)
                frames.append(Frame(symbol, distortion, jpeg, decoding.load_image(jpeg)))
    return frames


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def time_it(function, rounds: int) -> tuple[float, float, object]:
    """Best of ``rounds`` runs in ms, wall clock and this thread's CPU time (the least disturbed by other
    work on the machine: on a busy machine wall time mostly measures waiting for a core), and the result."""
    best_wall, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.thread_time()
        result = function()
        best_cpu = min(best_cpu, (time.thread_time() - cpu) * 1000)
        best_wall = min(best_wall, (time.perf_counter() - wall) * 1000)
    return best_wall, best_cpu, result


def correct(frame: Frame, found: list[decoding.Decoded], decoder: str) -> bool:
    symbol = frame.symbol
    if symbol is None:
        return not found
    if decoder == "opencv":  # no FNC1 information: the text is all it can get right
        return any(code.text == symbol.expected_text for code in found)
    return any(code.raw == symbol.expected_raw for code in found)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=6, help="frames per symbol and distortion (default 6)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per frame; the best counts (default 3)")
    parser.add_argument("--decoders", default=",".join(decoding.PREFERENCE))
    args = parser.parse_args(argv)

    registry = decoding.registry()
    wanted = [name.strip() for name in args.decoders.split(",") if name.strip()]
    print("decoders:")
    for status in registry.statuses():
        print(f"  {status.name:10s} {'available' if status.available else 'UNAVAILABLE: ' + str(status.reason)}")
    usable = [name for name in wanted if name in registry.decoders and registry.decoders[name].available()]
    if not usable:
        print("no decoder can run here", file=sys.stderr)
        return 2
    print(f"default (auto): {registry.default_name()}")

    started = time.perf_counter()
    frames = build_frames(args.seeds)
    with_code = [f for f in frames if f.symbol is not None]
    print(f"\n{len(frames)} frames of 1280x720 ({len(with_code)} with a code, {len(frames) - len(with_code)} without), "
          f"JPEG q85, mean {statistics.mean(len(f.jpeg) for f in frames) / 1024:.0f} KiB; built in "
          f"{time.perf_counter() - started:.1f} s")

    baseline = [time_it(lambda f=f: cv2.imdecode(np.frombuffer(f.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE),
                        args.rounds)[:2] for f in frames]
    base_wall, base_cpu = [b[0] for b in baseline], [b[1] for b in baseline]
    print(f"\nbaseline cv2.imdecode (JPEG -> gray): wall p50 {percentile(base_wall, .5):.2f} ms, "
          f"p95 {percentile(base_wall, .95):.2f} ms; CPU p50 {percentile(base_cpu, .5):.2f} ms, "
          f"p95 {percentile(base_cpu, .95):.2f} ms per frame")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")

    distortions = list(synthetic.DISTORTIONS)
    kinds = [s.kind for s in synthetic.SYMBOLS]
    summary = []
    for name in usable:
        decoder = registry.decoders[name]
        decoder.decode(frames[0].gray)  # first call loads libraries and builds tables
        times: dict[str, list[float]] = defaultdict(list)
        cpu_times: list[float] = []
        hits: dict[tuple[str, str], list[bool]] = defaultdict(list)
        false_reads = 0
        for frame in frames:
            ms, cpu_ms, found = time_it(lambda f=frame: decoder.decode(f.gray), args.rounds)
            cpu_times.append(cpu_ms)
            times[frame.distortion].append(ms)
            times["all"].append(ms)
            kind = frame.symbol.kind if frame.symbol else "no code"
            hits[(frame.distortion, kind)].append(correct(frame, found, name))  # type: ignore[arg-type]
            expected = frame.symbol.expected_text if frame.symbol else None
            false_reads += sum(1 for code in found if code.text != expected)  # type: ignore[union-attr]

        print(f"\n== {name}")
        header = f"  {'distortion':13s} {'p50 ms':>7s} {'p95 ms':>7s} " + " ".join(f"{k:>14s}" for k in kinds) \
            + f" {'no code':>8s} {'read rate':>9s}"
        print(header)
        for distortion in distortions:
            cells = []
            read = []
            for kind in kinds:
                got = hits[(distortion, kind)]
                read += got
                cells.append(f"{sum(got):>11d}/{len(got):<2d}")
            empty = hits[(distortion, "no code")]
            print(f"  {distortion:13s} {percentile(times[distortion], .5):7.2f} {percentile(times[distortion], .95):7.2f} "
                  + " ".join(cells) + f" {sum(empty):>5d}/{len(empty):<2d} {100 * sum(read) / len(read):8.1f}%")
        per_kind = {kind: [hit for d in distortions for hit in hits[(d, kind)]] for kind in kinds}
        all_hits = [hit for kind in kinds for hit in per_kind[kind]]
        rate = sum(all_hits) / len(all_hits)
        p50, p95 = percentile(times["all"], .5), percentile(times["all"], .95)
        print(f"  {'overall':13s} {p50:7.2f} {p95:7.2f} "
              + " ".join(f"{100 * sum(v) / len(v):>13.1f}%" for v in per_kind.values())
              + f" {'':8s} {100 * rate:8.1f}%")
        print(f"  false reads (a code that is not the one in the frame): {false_reads}")
        summary.append((name, p50, p95, percentile(cpu_times, .5), percentile(cpu_times, .95), rate))

    print("\n== summary (decode only, ms per frame; add the baseline for JPEG decoding)")
    print(f"  {'decoder':10s} {'wall p50':>8s} {'wall p95':>8s} {'CPU p50':>8s} {'CPU p95':>8s} {'read rate':>9s}"
          f"  targets: <= {TARGET_MS:g} ms, >= {100 * TARGET_READ_RATE:g} %")
    default = registry.default_name()
    for name, p50, p95, cpu50, cpu95, rate in summary:
        verdict = "met" if min(p50, cpu50) <= TARGET_MS and rate >= TARGET_READ_RATE else "MISSED"
        mark = " (default)" if name == default else ""
        print(f"  {name:10s} {p50:8.2f} {p95:8.2f} {cpu50:8.2f} {cpu95:8.2f} {100 * rate:8.1f}%  {verdict}{mark}")
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
