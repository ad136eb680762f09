"""Decoding costs memory: budgeted in bytes from the header, and bounded per process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from server.config import Settings
from server.kernel.errors import UploadRejected
from server.uploads import images
from server.uploads.rules import UploadRateLimited, bytes_per_pixel, decoded_size
from tests.uploads.helpers import files_under, hostile_png, image_bytes, post

ROOT = Path(__file__).resolve().parents[2]
PEAK_RSS_LIMIT_MB = 250


@pytest.fixture(scope="module")
def hostile() -> bytes:
    return hostile_png(6300, 6300)


@pytest.fixture
def user_headers(make, org):
    return make.headers(make.tenant(org))


def test_the_hostile_png_is_what_the_report_said(hostile):
    im = Image.open(io.BytesIO(hostile))
    assert (im.format, im.mode, im.size) == ("PNG", "RGBA", (6300, 6300))
    assert len(hostile) < 320 * 1024
    assert im.width * im.height <= images.MAX_PIXELS  # passes the pixel cap
    assert (
        decoded_size(width=6300, height=6300, mode=im.mode) > Settings().upload_decode_budget_bytes
    )


def test_hostile_png_is_refused_from_its_header_without_decoding(
    client, org, user_headers, settings, hostile, monkeypatch
):
    decoded = []
    real_load = ImageFile.ImageFile.load

    def load(self):
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    r = post(client, user_headers, hostile, filename="bomb.png")
    assert r.status_code == 422, r.json
    assert r.json["error"] == "upload_rejected"
    assert "内存" in r.json["message"] and "MB" in r.json["message"]
    assert decoded == []
    assert files_under(settings.upload_dir / str(org.id)) == []


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("1", 1), ("L", 1), ("P", 1), ("I;16", 2), ("RGB", 4), ("RGBA", 4), ("I", 4), ("F", 4)],
)
def test_bytes_per_pixel_follow_pillows_storage(mode, expected):
    assert bytes_per_pixel(mode) == expected
    assert Image.new(mode, (3, 2)).mode == mode


def test_an_unknown_mode_is_charged_high():
    assert bytes_per_pixel("RGBA;16") == 8


def test_the_budget_counts_bytes_not_pixels(client, user_headers, with_settings):
    # 600×600: far under the pixel cap. As RGB (4 bytes a pixel) it needs 1.4 MB, over a 1 MB
    # budget; as greyscale (1 byte a pixel) 0.35 MB, under it.
    with_settings(upload_decode_budget_bytes=1024 * 1024)
    colour = image_bytes("PNG", (600, 600))
    out = io.BytesIO()
    Image.new("L", (600, 600), 90).save(out, "PNG")
    r = post(client, user_headers, colour, filename="colour.png")
    assert r.status_code == 422 and r.json["error"] == "upload_rejected", r.json
    r = post(client, user_headers, out.getvalue(), filename="grey.png")
    assert r.status_code == 201, r.json


def test_sixteen_bit_greyscale_within_budget_is_accepted(client, user_headers):
    out = io.BytesIO()
    Image.new("I;16", (300, 200), 40000).save(out, "PNG")
    r = post(client, user_headers, out.getvalue(), filename="depth.png")
    assert r.status_code == 201, r.json
    assert (r.json["width"], r.json["height"]) == (300, 200)


def test_when_every_decode_slot_is_busy_the_upload_is_told_to_retry(
    client, user_headers, settings, monkeypatch
):
    monkeypatch.setattr(images, "DECODE_WAIT_SECONDS", 0.2)
    slots = images.decode_slots(settings.upload_max_concurrent_decodes)
    for _ in range(settings.upload_max_concurrent_decodes):
        assert slots.acquire(timeout=5)
    try:
        started = time.monotonic()
        r = post(client, user_headers, image_bytes("PNG"), filename="a.png")
        waited = time.monotonic() - started
    finally:
        for _ in range(settings.upload_max_concurrent_decodes):
            slots.release()
    assert r.status_code == 429, r.json
    assert r.json["error"] == "rate_limited" and "繁忙" in r.json["message"]
    assert int(r.headers["Retry-After"]) >= 1
    assert waited >= 0.2
    assert post(client, user_headers, image_bytes("PNG"), filename="a.png").status_code == 201


def test_concurrent_decodes_never_exceed_the_limit(monkeypatch):
    active, peak, lock = [0], [0], threading.Lock()
    real_encode = images._encode

    def slow_encode(im, fmt):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return real_encode(im, fmt)

    monkeypatch.setattr(images, "_encode", slow_encode)
    monkeypatch.setattr(images, "DECODE_WAIT_SECONDS", 30)
    data = image_bytes("PNG", (50, 50))
    results: list[object] = []

    def work():
        results.append(
            images.clean_image(data, decode_budget_bytes=10**8, max_concurrent_decodes=2)
        )

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert peak[0] == 2


CHILD = textwrap.dedent(
    """
    import json, resource, sys, threading
    # A safety net for the machine: the unbounded code would take ~2.6 GB here.
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))
    from server.config import Settings
    from server.kernel.errors import UploadRejected
    from server.uploads import images

    defaults = Settings()
    hostile = open(sys.argv[1], "rb").read()
    photo = open(sys.argv[2], "rb").read()
    outcomes = []

    def upload(data, kind):
        try:
            clean = images.clean_image(
                data,
                decode_budget_bytes=defaults.upload_decode_budget_bytes,
                max_concurrent_decodes=defaults.upload_max_concurrent_decodes,
            )
            outcomes.append([kind, "accepted", clean.width, clean.height])
        except UploadRejected:
            outcomes.append([kind, "rejected"])
        except BaseException as exc:
            outcomes.append([kind, type(exc).__name__])

    threads = [threading.Thread(target=upload, args=(hostile, "hostile")) for _ in range(8)]
    threads += [threading.Thread(target=upload, args=(photo, "photo")) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The peak RSS of this process image: VmHWM. (ru_maxrss would carry over the parent's RSS
    # from before exec: the child is spawned with vfork, so it starts on the parent's memory.)
    with open("/proc/self/status") as status:
        hwm = [line for line in status if line.startswith("VmHWM:")]
    peak_kb = int(hwm[0].split()[1])
    print(json.dumps({"outcomes": outcomes, "peak_rss_mb": peak_kb // 1024}))
    """
)


def test_eight_hostile_uploads_in_parallel_keep_memory_bounded(tmp_path, hostile, capsys):
    # A 12-megapixel phone photo (decodes to 48 MB) goes through beside eight hostile PNGs.
    hostile_file, photo_file = tmp_path / "bomb.png", tmp_path / "photo.jpg"
    hostile_file.write_bytes(hostile)
    photo_file.write_bytes(image_bytes("JPEG", (4000, 3000), quality=85))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(hostile_file), str(photo_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    report = json.loads(child.stdout)
    peak = report["peak_rss_mb"]
    with capsys.disabled():
        sys.stdout.write(f" [upload subprocess peak RSS: {peak} MB, limit {PEAK_RSS_LIMIT_MB} MB] ")
    outcomes = sorted(report["outcomes"])
    assert outcomes == sorted(
        [["hostile", "rejected"]] * 8 + [["photo", "accepted", 4000, 3000]] * 2
    ), f"outcomes {outcomes}; peak RSS {peak} MB"
    assert peak < PEAK_RSS_LIMIT_MB, (
        f"peak RSS {peak} MB while decoding 8 hostile PNGs and 2 photos in parallel "
        f"(limit {PEAK_RSS_LIMIT_MB} MB)"
    )


def test_clean_image_refuses_over_budget_directly(hostile):
    with pytest.raises(UploadRejected):
        images.clean_image(hostile, decode_budget_bytes=96 * 1024 * 1024, max_concurrent_decodes=2)


def test_busy_error_carries_retry_after(monkeypatch):
    monkeypatch.setattr(images, "DECODE_WAIT_SECONDS", 0.01)
    slots = images.decode_slots(1)
    assert slots.acquire(timeout=5)
    try:
        with pytest.raises(UploadRateLimited) as excinfo:
            images.clean_image(
                image_bytes("PNG"), decode_budget_bytes=10**8, max_concurrent_decodes=1
            )
    finally:
        slots.release()
    assert excinfo.value.status == 429 and excinfo.value.retry_after >= 1
