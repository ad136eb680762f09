"""Image uploads through the real HTTP API; images are generated in memory with Pillow."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from mobile_api.uploads import upload_limits
from server.kernel.errors import ValidationFailed
from server.models import Upload
from server.uploads import files as upload_service
from tests.uploads.helpers import (
    UPLOADS,
    files_under,
    image_bytes,
    order_row,
    png_header_only,
    post,
    stored_path,
)


def gps_exif(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Phone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 14.0, 0.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (121.0, 28.0, 0.0)
    return exif.tobytes()


@pytest.fixture
def user(make, org):
    return make.tenant(org)


@pytest.fixture
def headers(make, user):
    return make.headers(user)


# --- accepted images ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "ext"),
    [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")],
)
def test_each_format_is_accepted_stored_and_served(
    client, make, org, user, headers, settings, db_session, fmt, content_type, ext
):
    r = post(client, headers, image_bytes(fmt, (64, 48)), filename=f"x.{ext}")
    assert r.status_code == 201, r.json
    body = r.json
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert body["url"] == f"/api/v1/uploads/{body['id']}"
    assert body["content_type"] == content_type
    assert (body["width"], body["height"]) == (64, 48)

    path = settings.upload_dir / str(org.id) / body["id"][:2] / f"{body['id']}.{ext}"
    data = path.read_bytes()
    assert body["size_bytes"] == len(data)
    row = db_session.get(Upload, body["id"])
    assert row.owner_user_id == user.id and row.org_id == org.id
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert row.order_id is None and row.message_id is None and row.purpose is None
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]

    got = client.get(body["url"], headers=headers)
    assert got.status_code == 200
    assert got.data == data
    assert got.mimetype == content_type
    assert got.headers["Cache-Control"] == "private, max-age=86400"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(got.data)).format == fmt


def test_type_comes_from_content_not_the_file_name(client, headers):
    r = post(client, headers, image_bytes("PNG"), filename="holiday.jpg")
    assert r.status_code == 201 and r.json["content_type"] == "image/png"


def test_palette_png_keeps_its_transparency(client, headers, settings):
    im = Image.new("P", (10, 10), 0)
    im.putpalette([255, 0, 0, 0, 0, 255])
    out = io.BytesIO()
    im.save(out, "PNG", transparency=0)
    r = post(client, headers, out.getvalue(), filename="a.png")
    assert r.status_code == 201, r.json
    stored = Image.open(stored_path(settings, r.json))
    assert stored.mode == "P" and stored.info.get("transparency") == 0


# --- rejected files -------------------------------------------------------------------------


def _truncated_jpeg() -> bytes:
    data = image_bytes("JPEG", (400, 300))
    return data[: len(data) // 2]


def _truncated_png() -> bytes:
    data = image_bytes("PNG", (400, 300))
    return data[: len(data) - 40]


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        pytest.param(b"just some text, honestly\n", "notes.jpg", id="text-renamed-jpg"),
        pytest.param(
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
            "scan.png",
            id="pdf",
        ),
        pytest.param(b"", "empty.jpg", id="empty"),
        pytest.param(_truncated_jpeg(), "half.jpg", id="truncated-jpeg"),
        pytest.param(_truncated_png(), "half.png", id="truncated-png"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 64, "header.jpg", id="jpeg-magic-only"),
        pytest.param(image_bytes("GIF"), "anim.gif", id="gif-not-allowed"),
        pytest.param(image_bytes("BMP"), "pic.bmp", id="bmp-not-allowed"),
        pytest.param(png_header_only(8000, 6000), "big.png", id="48-megapixels"),
        pytest.param(png_header_only(10000, 10000), "bomb.png", id="bomb-pillow-warning"),
        pytest.param(png_header_only(20000, 20000), "bomb.png", id="bomb-pillow-error"),
    ],
)
def test_rejected_files(client, org, headers, settings, data, filename):
    r = post(client, headers, data, filename=filename)
    assert r.status_code == 422, r.json
    assert r.json["error"] == "upload_rejected"
    assert r.json["message"] and r.json["message"] != "图片不符合要求"
    # Nothing is written before the image passed every check.
    assert files_under(settings.upload_dir / str(org.id)) == []


@pytest.mark.parametrize("field", [None, "image"])
def test_missing_file_field_is_a_validation_error(client, headers, field):
    if field is None:
        r = client.post(
            UPLOADS, data={"note": "x"}, headers=headers, content_type="multipart/form-data"
        )
    else:
        r = post(client, headers, image_bytes("PNG"), field=field)
    assert r.status_code == 422 and r.json["error"] == "validation_error"
    assert "file" in r.json["errors"]


def test_just_over_the_size_limit_is_rejected(client, headers, settings):
    r = post(client, headers, b"\xff\xd8" + b"\x00" * (settings.upload_max_bytes - 1))
    assert r.status_code == 422 and r.json["error"] == "upload_rejected"
    assert "MB" in r.json["message"]


def test_far_over_the_size_limit_is_413(client, headers, settings):
    r = post(client, headers, b"\x00" * (settings.upload_max_bytes + 128 * 1024))
    assert r.status_code == 413 and r.json["error"] == "upload_rejected"


def test_upload_needs_a_login(client):
    r = post(client, {}, image_bytes("PNG"))
    assert r.status_code == 401 and r.json["error"] == "unauthorized"


# --- metadata -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "ext"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")])
def test_exif_and_gps_are_stripped(client, headers, settings, fmt, ext):
    source = image_bytes(fmt, exif=gps_exif())
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    r = post(client, headers, source, filename=f"gps.{ext}")
    assert r.status_code == 201, r.json
    stored = Image.open(stored_path(settings, r.json))
    exif = stored.getexif()
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert ExifTags.Base.Make not in exif
    assert "exif" not in stored.info and "xmp" not in stored.info


def test_jpeg_comment_and_png_text_are_dropped(client, headers, settings):
    r = post(client, headers, image_bytes("JPEG", comment=b"home: 1-101"), filename="c.jpg")
    assert r.status_code == 201
    assert "comment" not in Image.open(stored_path(settings, r.json)).info

    text = PngImagePlugin.PngInfo()
    text.add_text("Location", "31.23,121.47")
    text.add_itxt("Comment", "家里")
    r = post(client, headers, image_bytes("PNG", pnginfo=text), filename="t.png")
    assert r.status_code == 201
    stored = Image.open(stored_path(settings, r.json))
    stored.load()
    assert stored.text == {}


@pytest.mark.parametrize(("fmt", "ext"), [("JPEG", "jpg"), ("WEBP", "webp")])
def test_exif_orientation_is_applied(client, headers, settings, fmt, ext):
    # Stored 80x40 with the left half red and the right half blue; orientation 6 means
    # "rotate 90° clockwise to display": upright it is 40x80, red on top.
    im = Image.new("RGB", (80, 40), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 40, 40))
    out = io.BytesIO()
    im.save(out, fmt, exif=gps_exif(orientation=6), quality=95)
    r = post(client, headers, out.getvalue(), filename=f"sideways.{ext}")
    assert r.status_code == 201, r.json
    assert (r.json["width"], r.json["height"]) == (40, 80)
    stored = Image.open(stored_path(settings, r.json)).convert("RGB")
    assert stored.size == (40, 80)
    assert ExifTags.Base.Orientation not in stored.getexif()
    top, bottom = stored.getpixel((20, 15)), stored.getpixel((20, 65))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


# --- serving --------------------------------------------------------------------------------


def test_served_only_within_the_organisation(client, make, org, headers):
    url = post(client, headers, image_bytes("PNG")).json["url"]
    assert client.get(url, headers=headers).status_code == 200

    stranger = make.tenant(make.org())
    r = client.get(url, headers=make.headers(stranger))
    assert r.status_code == 404 and r.json["error"] == "not_found"

    r = client.get(url)
    assert r.status_code == 401 and r.json["error"] == "unauthorized"


@pytest.mark.parametrize(
    "upload_id", ["0" * 32, "f" * 31, "G" * 32, "../../etc/passwd", "A" * 32, "x" * 200]
)
def test_unknown_or_malformed_ids_are_404(client, headers, upload_id):
    r = client.get(f"{UPLOADS}/{upload_id}", headers=headers)
    assert r.status_code == 404 and r.json["error"] == "not_found"


def test_missing_file_on_disk_is_404(client, headers, settings):
    body = post(client, headers, image_bytes("PNG")).json
    stored_path(settings, body).unlink()
    assert client.get(body["url"], headers=headers).status_code == 404


def test_openapi_documents_the_multipart_form(client):
    spec = client.get("/openapi.json").json
    post_op = spec["paths"]["/api/v1/uploads"]["post"]
    form = post_op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "201" in post_op["responses"] and "413" in post_op["responses"]
    get_op = spec["paths"]["/api/v1/uploads/{upload_id}"]["get"]
    # Each type an upload may be stored as, named (not image/*: generators need the types).
    assert set(get_op["responses"]["200"]["content"]) == {"image/jpeg", "image/png", "image/webp"}
    assert "404" in get_op["responses"]
    if "$ref" in form:
        form = spec["components"]["schemas"][form["$ref"].rsplit("/", 1)[1]]
    assert form["properties"]["file"]["format"] == "binary"
    assert form["required"] == ["file"]


# --- attaching (called by order filing and messages) ----------------------------------------

NOW = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)


def _store(db_session, settings, *, org, user) -> Upload:
    return upload_service.store_upload(
        db_session,
        upload_dir=settings.upload_dir,
        limits=upload_limits(settings),
        org_id=org.id,
        user_id=user.id,
        stream=io.BytesIO(image_bytes("PNG", (8, 8))),
        now=NOW,
    )


def _attachable(db_session, *, org, user, ids):
    return upload_service.attachable_uploads(
        db_session, org_id=org.id, user_id=user.id, upload_ids=ids
    )


def _image_ids_error(excinfo) -> str:
    assert excinfo.value.error == "validation_error"
    return excinfo.value.errors["image_ids"][0]


def test_attachable_returns_own_unattached_uploads_in_the_given_order(
    db_session, settings, org, user
):
    uploads = [_store(db_session, settings, org=org, user=user) for _ in range(3)]
    wanted = [uploads[2].id, uploads[0].id, uploads[1].id]
    got = _attachable(db_session, org=org, user=user, ids=wanted)
    assert [u.id for u in got] == wanted
    assert _attachable(db_session, org=org, user=user, ids=[]) == []


def test_attachable_allows_nine(db_session, settings, org, user):
    ids = [_store(db_session, settings, org=org, user=user).id for _ in range(9)]
    assert len(_attachable(db_session, org=org, user=user, ids=ids)) == 9


def test_attachable_refuses_more_than_nine(db_session, settings, org, user):
    ids = [_store(db_session, settings, org=org, user=user).id for _ in range(10)]
    with pytest.raises(ValidationFailed) as excinfo:
        _attachable(db_session, org=org, user=user, ids=ids)
    assert "9" in _image_ids_error(excinfo)


def test_attachable_refuses_duplicates(db_session, settings, org, user):
    upload = _store(db_session, settings, org=org, user=user)
    with pytest.raises(ValidationFailed) as excinfo:
        _attachable(db_session, org=org, user=user, ids=[upload.id, upload.id])
    assert _image_ids_error(excinfo)


@pytest.mark.parametrize("case", ["unknown", "malformed", "colleague", "other_org", "attached"])
def test_attachable_refuses_what_is_not_mine_to_attach(db_session, settings, make, org, user, case):
    mine = _store(db_session, settings, org=org, user=user)
    if case == "unknown":
        bad = "0" * 32
    elif case == "malformed":
        bad = "not-an-id"
    elif case == "colleague":
        bad = _store(db_session, settings, org=org, user=make.tenant(org)).id
    elif case == "other_org":
        other = make.org()
        bad = _store(db_session, settings, org=other, user=make.tenant(other)).id
    else:
        attached = _store(db_session, settings, org=org, user=user)
        attached.order_id = order_row(make, org, user).id
        attached.purpose = "report"
        db_session.flush()
        bad = attached.id
    with pytest.raises(ValidationFailed) as excinfo:
        _attachable(db_session, org=org, user=user, ids=[mine.id, bad])
    assert _image_ids_error(excinfo)
