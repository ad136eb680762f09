"""The JSON API on the console's live server, as the apps use it: for setting up what a
console test then looks at, and for checking what the console did."""

from __future__ import annotations

from typing import Any

import requests

from server.demo_data import DEMO_ORG_CODE, DEMO_PASSWORD


class ApiUser:
    def __init__(self, base_url: str, phone: str, password: str = DEMO_PASSWORD) -> None:
        self.base_url = base_url
        answer = requests.post(
            f"{base_url}/api/v1/auth/login",
            json={"phone": phone, "password": password, "org": DEMO_ORG_CODE},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def get(self, path: str, **params: Any) -> Any:
        answer = requests.get(
            f"{self.base_url}/api/v1{path}", params=params, headers=self.headers, timeout=10
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, path: str, body: dict[str, Any], *, expect: int = 201) -> Any:
        answer = requests.post(
            f"{self.base_url}/api/v1{path}", json=body, headers=self.headers, timeout=10
        )
        assert answer.status_code == expect, answer.text
        return answer.json() if answer.content else None


def subtype_id(user: ApiUser, name: str) -> int:
    catalog = user.get("/catalog/order-types")
    for order_type in catalog["items"]:
        for subtype in order_type["subtypes"]:
            if subtype["name"] == name:
                return int(subtype["id"])
    raise AssertionError(f"no subtype {name}")


def file_order(base_url: str, *, phone: str = "13800000001", description: str) -> dict[str, Any]:
    """A resident files a repair from the mini-program (no fee, no booking): its answer."""
    resident = ApiUser(base_url, phone)
    room = resident.get("/tenant/rooms")["items"][0]["room"]
    return resident.post(  # type: ignore[no-any-return]
        "/tenant/orders",
        {
            "room_id": room["id"],
            "subtype_id": subtype_id(resident, "水管漏水"),
            "description": description,
        },
    )
