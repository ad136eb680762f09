// The WeChat mini-program's screens, typed against the generated `api.d.ts` (tsc --strict).
// Nothing here may need a cast or a non-null assertion: the document must say what is there.
import type { components, operations } from "./api";

type Schemas = components["schemas"];
type OrderDetail = Schemas["OrderDetail"];
type ErrorBody = Schemas["Error"];
type ErrorId = Schemas["ErrorId"];

// 我的房间: the rooms I may file for, with their address line.
type Rooms = operations["tenant_list_rooms"]["responses"][200]["content"]["application/json"];
export function roomChoices(rooms: Rooms): { id: number; text: string }[] {
  return rooms.items.map((r) => ({
    id: r.room.id,
    text: `${r.room.label}（${r.relation}）${r.room.unit_name ?? ""}`,
  }));
}

// 报修: only what the form asks is required (defaults do not make a field required).
export const report: Schemas["OrderCreate"] = {
  subtype_id: 1,
  room_id: 1,
  description: "卫生间地漏堵塞",
};
export const withPhotos: Schemas["OrderCreate"] = { ...report, image_ids: ["a1"], priority: "urgent" };

// 工单详情: header, who is on it, the timeline, the money.
export function header(o: OrderDetail): string {
  const who = o.assignee === null ? "待接单" : `${o.assignee.name} ${o.assignee.phone ?? ""}`;
  const when = o.slot_start === null ? "未预约" : o.slot_start;
  return `${o.number} ${o.status_label} ${o.room.label} ${who} ${when} ${o.overdue ? "已超时" : ""}`;
}

export function timeline(o: OrderDetail): string[] {
  return o.timeline.map(
    (e) => `${e.created_at} ${e.actor_name}(${e.actor_role}) ${e.action}: ${e.from_status ?? "-"} → ${e.to_status ?? "-"} ${e.reason}`,
  );
}

export function owed(o: OrderDetail): number {
  const paid = o.payments.filter((p) => p.status === "paid").reduce((sum, p) => sum + p.amount_fen, 0);
  const prepay = o.fee === null ? 0 : o.fee.prepay_fen;
  return Math.max(o.payable_fen, prepay) - paid;
}

export function photos(o: OrderDetail): string[] {
  return [...o.images, ...o.completion_images].map((i) => `${i.url}?w=${i.width}&h=${i.height}`);
}

export function canRate(o: OrderDetail): boolean {
  return o.status === "completed" && o.rating_score === null;
}

// Errors: the app switches on the id; every case is an id the server answers.
export function toast(e: ErrorBody): string {
  switch (e.error) {
    case "slot_full":
    case "slot_unavailable":
      return "请重新选择时段";
    case "payment_required":
      return "请先支付";
    case "validation_error":
      return Object.entries(e.errors ?? {})
        .map(([field, texts]) => `${field}: ${texts.join("；")}`)
        .join("\n");
    default:
      return e.message;
  }
}

export const retryable: ErrorId[] = ["rate_limited", "upstream_unavailable", "service_unavailable"];

type Filed = operations["tenant_file_order"]["responses"][201]["content"]["application/json"];
export function filedNumber(o: Filed): string {
  return `${o.number}: ${o.status}, 应付 ${(o.payable_fen / 100).toFixed(2)} 元`;
}
