// A web team's typed client, against the types openapi-typescript generates from
// /api/v1/openapi.json (written beside this file as api.d.ts by tests/contract/test_client_types.py,
// then compiled with `tsc --strict`): sign in (dev-login), list products, order one directly.
import type { components, paths } from "./api";

type Body<P extends keyof paths, M extends "post" | "put" | "patch"> = paths[P][M] extends {
  requestBody?: { content: { "application/json": infer B } };
}
  ? B
  : never;
type Ok<T> = { success: true; data: T; timestamp: string };

type DevLogin = Body<"/api/v1/auth/dev-login", "post">;
type SignedIn = components["schemas"]["SignedIn"];
type ProductPage = components["schemas"]["ProductOutPage"];
type ProductQuery = NonNullable<paths["/api/v1/products"]["get"]["parameters"]["query"]>;
type DirectOrder = Body<"/api/v1/orders/direct", "post">;
type ApiError = components["schemas"]["ErrorEnvelope"];
type Placed = components["schemas"]["OrderOut"];

async function call<T>(base: string, path: string, init: RequestInit, token?: string): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(base + path, { ...init, headers });
  const body: unknown = await response.json();
  if (!response.ok) throw new Error((body as ApiError).errorCode);
  return body as T;
}

export async function buyTheFirstProduct(base: string, email: string): Promise<string> {
  const login: DevLogin = { email, name: "Web team" };
  const session = await call<Ok<SignedIn>>(base, "/api/v1/auth/dev-login", {
    method: "POST",
    body: JSON.stringify(login),
  });
  const token: string = session.data.accessToken;

  const query: ProductQuery = { page: 1, limit: 20 };
  const listing = await call<Ok<ProductPage>>(base, `/api/v1/products?page=${query.page}&limit=${query.limit}`, {}, token);
  const first = listing.data.items[0];
  if (first === undefined) throw new Error("nothing to buy");
  const price: string = first.price; // money is a decimal string

  const order: DirectOrder = { items: [{ productId: first.id, quantity: 1 }] };
  const placed = await call<Ok<Placed>>(base, "/api/v1/orders/direct", { method: "POST", body: JSON.stringify(order) }, token);
  const status: "PENDING_PAYMENT" | "PAID" | "SHIPPED" | "DELIVERED" | "CANCELLED" = placed.data.status;
  return `${placed.data.id} (${status}): ${first.name} at ${price}, total ${placed.data.total}`;
}

// The types are strict: a quantity is a number, an unknown field is refused.
// @ts-expect-error quantity must be a number
const wrongType: DirectOrder = { items: [{ productId: "p", quantity: "1" }] };
// @ts-expect-error no such field
const unknownField: DevLogin = { email: "a@b.test", admin: true };
export { unknownField, wrongType };
