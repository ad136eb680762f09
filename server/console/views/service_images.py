"""The photos of complaints and notices, for the desk's browser session.

The API serves them at /api/v1/uploads/<id> behind a bearer token, which the console's pages
do not hold; this serves the same files to a signed-in desk user, by the uploads' own rule
(`uploads.access.visible_upload`: the desk sees any upload of its organisation; anything
else is 404).
"""

from __future__ import annotations

from typing import Any

from flask import send_file

from server.console.blueprint import bp
from server.console.web import desk_page, page
from server.kernel.errors import NotFound
from server.uploads import access
from server.uploads import files as upload_service
from server.web.context import container, now, principal, session

# As the API: browsers may keep a photo a while, shared caches never.
CACHE_SECONDS = 24 * 60 * 60


@bp.get("/service-images/<string:upload_id>")
@desk_page
def service_image(upload_id: str) -> Any:
    try:
        upload = access.visible_upload(
            session(), viewer=principal(), upload_id=upload_id, now=now()
        )
    except NotFound as exc:
        return page("console/error.html", status=404, title="图片不存在", message=exc.message)
    path = upload_service.upload_path(upload_dir=container().settings.upload_dir, upload=upload)
    if not path.is_file():
        return page("console/error.html", status=404, title="图片不存在", message="图片不存在")
    response = send_file(path, mimetype=upload.content_type, etag=upload.sha256)
    response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    response.headers.pop("Expires", None)
    return response
