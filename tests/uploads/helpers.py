"""Images made in memory, and the upload request, shared by the upload tests."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from server.orders.models import Order

UPLOADS = "/api/v1/uploads"


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt, **save)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge bitmap in a few bytes: what a decompression bomb looks like."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + _chunk(b"IEND", b"")
    )


def hostile_png(width: int = 6300, height: int = 6300) -> bytes:
    """A complete, valid 16-bit RGBA PNG of zeros: ~308 KB on the wire for 6300×6300.

    Under the 40-megapixel cap, yet Pillow decodes it to width × height × 4 bytes (~160 MB),
    and the old code kept a second copy while turning it upright.
    """
    row = b"\x00" * (1 + width * 8)  # filter byte + 4 channels × 2 bytes
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def post(client, headers, data: bytes, filename: str = "photo.jpg", field: str = "file"):
    return client.post(
        UPLOADS,
        data={field: (io.BytesIO(data), filename, "image/jpeg")},
        headers=headers,
        content_type="multipart/form-data",
    )


def upload_id(client, headers, data: bytes | None = None) -> str:
    r = post(client, headers, data or image_bytes("JPEG", (32, 24)))
    assert r.status_code == 201, r.json
    return r.json["id"]


def stored_path(settings, body) -> Path:
    found = list(settings.upload_dir.glob(f"*/{body['id'][:2]}/{body['id']}.*"))
    assert len(found) == 1
    return found[0]


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def order_row(make, org, reporter, now: datetime | None = None) -> Order:
    """A pending order written straight to the database (no photos, no HTTP)."""
    now = now or datetime.now(UTC)
    community = make.community(org)
    building = make.building(community)
    room = make.room(building)
    subtype = make.subtype(make.order_type(org))
    order = Order(
        org_id=org.id,
        number=f"T{room.id:010d}",
        status="pending",
        community_id=community.id,
        building_id=building.id,
        room_id=room.id,
        order_type_id=subtype.order_type_id,
        subtype_id=subtype.id,
        description="漏水",
        contact_phone="13800000001",
        reporter_user_id=reporter.id,
        due_at=now + timedelta(days=1),
    )
    make.session.add(order)
    make.session.flush()
    return order
