"""Photos on orders: uploaded first, then attached by filing, completing or messaging."""

from __future__ import annotations

import io

from PIL import Image

TENANT = "/api/v1/tenant/orders"
TECH = "/api/v1/tech/orders"


def upload(client, headers):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "blue").save(buffer, "JPEG")
    r = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(buffer.getvalue()), "a.jpg")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.json
    return r.json["id"]


def test_photos_follow_the_order(client, world):
    tenant = world.headers(world.tenant)
    ids = [upload(client, tenant) for _ in range(2)]
    filed = world.file(client, image_ids=ids)
    assert [i["id"] for i in filed["images"]] == ids
    assert filed["images"][0]["url"] == f"/api/v1/uploads/{ids[0]}"

    tech = world.techs[0]
    tech_headers = world.headers(tech)
    client.post(f"{TECH}/{filed['id']}/grab", headers=tech_headers)
    # The technician can open the tenant's photo: same organisation.
    assert client.get(filed["images"][0]["url"], headers=tech_headers).status_code == 200
    done_photo = upload(client, tech_headers)
    done = client.post(
        f"{TECH}/{filed['id']}/complete",
        json={"result": "已修复", "image_ids": [done_photo]},
        headers=tech_headers,
    )
    assert done.status_code == 200, done.json
    assert [i["id"] for i in done.json["completion_images"]] == [done_photo]

    chat_photo = upload(client, tenant)
    r = client.post(
        f"{TENANT}/{filed['id']}/messages",
        json={"text": "这里还有点渗水", "image_ids": [chat_photo]},
        headers=tenant,
    )
    assert r.status_code == 201
    assert [i["id"] for i in r.json["messages"][-1]["images"]] == [chat_photo]


def test_a_photo_is_attached_once_and_only_by_its_owner(client, world):
    tenant = world.headers(world.tenant)
    photo = upload(client, tenant)
    world.file(client, image_ids=[photo])
    body = {
        "subtype_id": world.subtype.id,
        "room_id": world.room.id,
        "description": "x",
        "image_ids": [photo],
    }
    r = client.post(TENANT, json=body, headers=tenant)
    assert r.status_code == 422 and "image_ids" in r.json["errors"]
    theirs = upload(client, world.headers(world.neighbour))
    r = client.post(TENANT, json={**body, "image_ids": [theirs]}, headers=tenant)
    assert r.status_code == 422 and "image_ids" in r.json["errors"]


def test_a_failed_filing_leaves_the_photo_free(client, world):
    tenant = world.headers(world.tenant)
    photo = upload(client, tenant)
    bad = {
        "subtype_id": world.subtype.id,
        "room_id": world.other_room.id,
        "description": "x",
        "image_ids": [photo],
    }
    assert client.post(TENANT, json=bad, headers=tenant).status_code == 422
    filed = world.file(client, image_ids=[photo])
    assert [i["id"] for i in filed["images"]] == [photo]
