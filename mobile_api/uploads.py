"""Image uploads for reports, completions and messages; served to those who may see them."""

from __future__ import annotations

from typing import Any

from flask import Response, send_file
from flask.views import MethodView

from schemas.uploads import UploadFormSchema, UploadSchema
from server.config import Settings
from server.kernel.errors import NotFound
from server.uploads import access
from server.uploads import files as upload_service
from server.uploads.images import EXTENSIONS
from server.uploads.rules import UploadLimits, UploadRateLimited
from server.web.blueprint import Blueprint
from server.web.context import container, now, principal, session
from server.web.errors import error_response

blp = Blueprint("uploads", __name__, url_prefix="/api/v1/uploads", description="图片上传")

CACHE_SECONDS = 86400


def upload_limits(settings: Settings) -> UploadLimits:
    return UploadLimits(
        max_bytes=settings.upload_max_bytes,
        decode_budget_bytes=settings.upload_decode_budget_bytes,
        max_concurrent_decodes=settings.upload_max_concurrent_decodes,
        per_hour=settings.upload_quota_per_hour,
        bytes_per_day=settings.upload_quota_bytes_per_day,
    )


@blp.route("")
class Uploads(MethodView):
    @blp.auth()
    @blp.arguments(UploadFormSchema, location="files")
    @blp.response(201, UploadSchema)
    @blp.alt_response(413, description="upload_rejected：上传内容过大")
    @blp.alt_response(
        429,
        description="rate_limited：超过每人每小时张数或每日容量上限，或服务器正忙；"
        "按 Retry-After（秒）后重试",
    )
    def post(self, form: dict[str, Any]) -> Any:
        """上传图片（JPEG / PNG / WebP；按内容校验，去除 EXIF 与定位信息）

        超过大小上限、格式不支持、文件损坏、像素过多或解码所需内存超限时返回 422
        `upload_rejected`；超过个人上传配额或服务器图片处理繁忙时返回 429 `rate_limited`，
        响应头 `Retry-After` 给出可重试的秒数。
        """
        caller = principal()
        settings = container().settings
        try:
            return upload_service.store_upload(
                session(),
                upload_dir=settings.upload_dir,
                limits=upload_limits(settings),
                org_id=caller.org_id,
                user_id=caller.user_id,
                stream=form["file"].stream,
                now=now(),
            )
        except UploadRateLimited as exc:
            return error_response(
                exc.status, exc.error, exc.message, headers={"Retry-After": str(exc.retry_after)}
            )


IMAGE_BYTES = {"type": "string", "format": "binary"}
IMAGE_CONTENT_TYPES = tuple(EXTENSIONS)  # what an upload may be stored as


@blp.route("/<string:upload_id>")
class UploadById(MethodView):
    @blp.auth()
    @blp.response(
        200,
        IMAGE_BYTES,
        content_type="image/jpeg",
        description="图片文件（image/jpeg、image/png 或 image/webp，与上传时相同）",
    )
    @blp.doc(
        responses={
            200: {"content": {kind: {"schema": IMAGE_BYTES} for kind in IMAGE_CONTENT_TYPES}}
        }
    )
    @blp.alt_response(
        404, description="图片不存在，或不是本人上传且不属于本人可见的工单或本人收到的通知"
    )
    def get(self, upload_id: str) -> Response:
        """下载图片：本人上传的、本人可见工单上的（报修、办结、留言图片）、本人收到且仍可见的通知上的；
        调度员与管理员可看本机构全部"""
        upload = access.visible_upload(
            session(), viewer=principal(), upload_id=upload_id, now=now()
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
