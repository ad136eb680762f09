"""Image uploads: the multipart form and the stored image."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

UPLOAD_URL = "/api/v1/uploads/{id}"


class UploadFormSchema(Schema):
    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "JPEG、PNG 或 WebP 图片（按内容识别，与文件名无关）",
        },
    )


class UploadSchema(Schema):
    id = fields.String(metadata={"description": "图片 id（32 位十六进制），报修时放入 image_ids"})
    url = fields.Function(
        lambda upload: upload_url(upload.id),
        metadata={
            "type": "string",
            "description": "图片地址（需携带登录凭证访问，仅同机构用户可见）",
        },
    )
    content_type = fields.String(metadata={"description": "image/jpeg | image/png | image/webp"})
    size_bytes = fields.Integer(metadata={"description": "去除元数据后的文件大小（字节）"})
    width = fields.Integer(metadata={"description": "宽（像素，已按 EXIF 方向摆正）"})
    height = fields.Integer(metadata={"description": "高（像素）"})


def upload_url(upload_id: Any) -> str:
    return UPLOAD_URL.format(id=upload_id)
