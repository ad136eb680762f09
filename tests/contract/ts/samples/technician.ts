// The technician app's screens, typed against the generated `api.d.ts` (tsc --strict).
import type { components, operations } from "./api";

type Schemas = components["schemas"];
type Pool = operations["tech_list_pool"]["responses"][200]["content"]["application/json"];

// 抢单池: what I may still grab, and the list.
export function room(pool: Pool): number {
  return pool.cap - pool.held;
}

export function poolRows(pool: Pool): string[] {
  return pool.items.map(
    (o) => `${o.number} ${o.subtype.name} ${o.room.label} ${o.priority === "urgent" ? "急" : ""} ${o.contact_phone ?? ""}`,
  );
}

// 抢单: the answer is mine now, with the contact's phone to call.
type Grabbed = operations["tech_grab_order"]["responses"][200]["content"]["application/json"];
export function callee(o: Grabbed): string {
  return `${o.contact_name} ${o.contact_phone ?? ""}`;
}

type GrabRefused = operations["tech_grab_order"]["responses"][409]["content"]["application/json"];
export function grabRefused(e: GrabRefused): string {
  if (e.error === "order_taken") return "手慢了";
  if (e.error === "grab_limit_reached") return "已达上限";
  return e.message;
}

// 办结 and the charges on the order.
export const done: Schemas["Complete"] = { result: "更换密封圈" };
export function charges(o: Schemas["OrderDetail"]): number {
  return o.charges.reduce((sum, c) => sum + c.amount_fen, 0);
}

export function assignee(o: Schemas["Order"]): string {
  return o.assignee === null ? "" : o.assignee.name;
}
