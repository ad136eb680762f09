"""Image uploads for reports, completions and messages; served only within the organisation."""

from __future__ import annotations

from typing import Any

from flask import Response, send_file
from flask.views import MethodView

from schemas.uploads import UploadFormSchema, UploadSchema
from server.kernel.errors import NotFound
from server.uploads import files as upload_service
from server.web.blueprint import Blueprint
from server.web.context import container, now, principal, session

blp = Blueprint("uploads", __name__, url_prefix="/api/v1/uploads", description="图片上传")

CACHE_SECONDS = 86400


@blp.route("")
class Uploads(MethodView):
    @blp.auth()
    @blp.arguments(UploadFormSchema, location="files")
    @blp.response(201, UploadSchema)
    @blp.alt_response(413, description="upload_rejected：上传内容过大")
    def post(self, form: dict[str, Any]) -> Any:
        """上传图片（JPEG / PNG / WebP；按内容校验，去除 EXIF 与定位信息）

        超过大小上限、格式不支持、文件损坏或像素过多时返回 422 `upload_rejected`。
        """
        caller = principal()
        settings = container().settings
        return upload_service.store_upload(
            session(),
            upload_dir=settings.upload_dir,
            max_bytes=settings.upload_max_bytes,
            org_id=caller.org_id,
            user_id=caller.user_id,
            stream=form["file"].stream,
            now=now(),
        )


@blp.route("/<string:upload_id>")
class UploadById(MethodView):
    @blp.auth()
    @blp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type="image/*",
        description="图片文件（image/jpeg、image/png 或 image/webp）",
    )
    @blp.alt_response(404, description="图片不存在或不属于本机构")
    def get(self, upload_id: str) -> Response:
        """下载图片（仅本机构用户）"""
        upload = upload_service.get_upload(
            session(), org_id=principal().org_id, upload_id=upload_id
        )
        path = upload_service.upload_path(upload_dir=container().settings.upload_dir, upload=upload)
        if not path.is_file():
            raise NotFound("图片不存在")
        response = send_file(path, mimetype=upload.content_type, etag=upload.sha256)
        # Behind a login: browsers may cache, shared caches must not.
        response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
        response.headers.pop("Expires", None)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
