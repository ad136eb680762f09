"""A notice's images: attached at publishing, shown in every answer, seen by its recipients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from server.db.session import UnitOfWork
from server.models import Upload
from server.notices.models import NoticeRecipient
from server.uploads import files as upload_files
from server.uploads.sweeper import sweep_uploads
from tests.notices.conftest import ADMIN, TECH, TENANT
from tests.orders.test_order_images import upload

UPLOADS = "/api/v1/uploads"


def _ids(images):
    return [image["id"] for image in images]


def test_published_images_reach_the_desk_and_the_recipients(client, world, board, db_session):
    first, second = upload(client, board.desk), upload(client, board.desk)
    notice = board.publish(image_ids=[first, second])
    assert _ids(notice["images"]) == [first, second]
    assert notice["images"][0] == {
        "id": first,
        "url": f"/api/v1/uploads/{first}",
        "width": 32,
        "height": 24,
    }
    # The desk's detail and list.
    detail = client.get(f"{ADMIN}/{notice['id']}", headers=board.desk).json
    assert _ids(detail["images"]) == [first, second]
    listed = client.get(ADMIN, headers=board.desk).json["items"]
    assert _ids(next(n for n in listed if n["id"] == notice["id"])["images"]) == [first, second]
    # The tenant's list, detail and read answer.
    tenant = world.headers(world.tenant)
    mine = client.get(TENANT, headers=tenant).json["items"]
    assert _ids(next(n for n in mine if n["id"] == notice["id"])["images"]) == [first, second]
    one = client.get(f"{TENANT}/{notice['id']}", headers=tenant).json
    assert _ids(one["images"]) == [first, second]
    read = client.post(f"{TENANT}/{notice['id']}/read", headers=tenant).json
    assert _ids(read["images"]) == [first, second]
    # Attached as the notice's, in the same transaction.
    rows = db_session.execute(
        select(Upload.notice_id, Upload.purpose).where(Upload.id.in_([first, second]))
    ).all()
    assert set(rows) == {(notice["id"], "notice")}


def test_a_notice_without_images_answers_an_empty_list(client, world, board):
    notice = board.publish()
    assert notice["images"] == []
    assert client.get(f"{ADMIN}/{notice['id']}", headers=board.desk).json["images"] == []
    one = client.get(f"{TENANT}/{notice['id']}", headers=world.headers(world.tenant)).json
    assert one["images"] == []


def test_only_the_desk_and_the_recipients_may_fetch_a_notice_image(
    client, world, make, board, db_session
):
    image = upload(client, board.desk)
    notice = board.publish(scope="rooms", target_ids=[world.room.id], image_ids=[image])
    reached = db_session.scalars(
        select(NoticeRecipient.user_id).where(NoticeRecipient.notice_id == notice["id"])
    ).all()
    assert reached == [world.tenant.id]
    # The recipient and the desk (another dispatcher too).
    assert client.get(f"{UPLOADS}/{image}", headers=world.headers(world.tenant)).status_code == 200
    assert client.get(f"{UPLOADS}/{image}", headers=board.desk).status_code == 200
    other_desk = make.headers(make.dispatcher(world.org))
    assert client.get(f"{UPLOADS}/{image}", headers=other_desk).status_code == 200
    # A tenant of the same organisation the notice did not reach, a technician, a stranger.
    assert (
        client.get(f"{UPLOADS}/{image}", headers=world.headers(world.neighbour)).status_code == 404
    )
    tech = world.headers(world.techs[0])
    assert client.get(f"{UPLOADS}/{image}", headers=tech).status_code == 404
    stranger_org = make.org()
    stranger_desk = make.headers(make.dispatcher(stranger_org))
    assert client.get(f"{UPLOADS}/{image}", headers=stranger_desk).status_code == 404
    twin = make.tenant(stranger_org, phone="13800000001")
    assert client.get(f"{UPLOADS}/{image}", headers=make.headers(twin)).status_code == 404
    # Withdrawn: the recipient no longer sees the notice, nor its image; the desk still does.
    r = client.post(f"{ADMIN}/{notice['id']}/withdraw", headers=board.desk)
    assert r.status_code == 200 and _ids(r.json["images"]) == [image]
    assert client.get(f"{UPLOADS}/{image}", headers=world.headers(world.tenant)).status_code == 404
    assert client.get(f"{UPLOADS}/{image}", headers=board.desk).status_code == 200


def test_staff_notice_images_are_seen_by_the_staff_it_reached(client, world, board):
    image = upload(client, board.desk)
    notice = board.publish(
        audience="staff", scope="departments", target_ids=[world.department.id], image_ids=[image]
    )
    tech = world.headers(world.techs[0])
    assert _ids(client.get(f"{TECH}/{notice['id']}", headers=tech).json["images"]) == [image]
    mine = client.get(TECH, headers=tech).json["items"]
    assert _ids(mine[0]["images"]) == [image]
    assert client.get(f"{UPLOADS}/{image}", headers=tech).status_code == 200
    outsider = world.headers(world.outsider)  # a technician of no department
    assert client.get(f"{UPLOADS}/{image}", headers=outsider).status_code == 404
    assert client.get(f"{UPLOADS}/{image}", headers=world.headers(world.tenant)).status_code == 404


def test_an_image_is_attached_once_and_only_by_its_uploader(client, world, make, board):
    image = upload(client, board.desk)
    board.publish(image_ids=[image])
    again = board.publish(expect=422, image_ids=[image])
    assert again["error"] == "validation_error" and "image_ids" in again["errors"]
    # Someone else's upload, even the desk's own organisation's.
    admin = make.headers(make.admin(world.org))
    theirs = upload(client, admin)
    r = board.publish(expect=422, image_ids=[theirs])
    assert "image_ids" in r["errors"]
    # A tenant's upload is not the desk's to publish; an id nobody uploaded is refused too.
    photo = upload(client, world.headers(world.tenant))
    assert "image_ids" in board.publish(expect=422, image_ids=[photo])["errors"]
    assert "image_ids" in board.publish(expect=422, image_ids=["f" * 32])["errors"]


def test_more_than_nine_images_are_refused(client, world, board, db_session):
    images = [upload(client, board.desk) for _ in range(10)]
    r = board.publish(expect=422, image_ids=images)
    assert r["error"] == "validation_error" and "image_ids" in r["errors"]
    attached = db_session.scalars(
        select(Upload.id).where(Upload.id.in_(images), Upload.notice_id.is_not(None))
    ).all()
    assert attached == []
    assert _ids(board.publish(image_ids=images[:9])["images"]) == images[:9]


def test_the_sweeper_leaves_attached_notice_images_alone(
    client, world, board, db_session, tmp_path
):
    kept, loose = upload(client, board.desk), upload(client, board.desk)
    board.publish(image_ids=[kept])
    now = datetime.now(UTC)
    db_session.execute(
        update(Upload)
        .where(Upload.id.in_([kept, loose]))
        .values(created_at=now - timedelta(days=3))
    )
    root = tmp_path / "uploads"
    rows = {u.id: u for u in db_session.scalars(select(Upload).where(Upload.id.in_([kept, loose])))}
    paths = {}
    for upload_id, row in rows.items():
        path = upload_files.upload_path(upload_dir=root, upload=row)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xff\xd8 fake")
        paths[upload_id] = path

    uow = UnitOfWork(db_session)
    report = sweep_uploads(uow.session, upload_dir=root, now=now)
    uow.commit()

    assert report.unattached_removed >= 1
    db_session.expire_all()
    left = set(db_session.scalars(select(Upload.id).where(Upload.id.in_([kept, loose]))))
    assert left == {kept}
    assert paths[kept].exists() and not paths[loose].exists()
